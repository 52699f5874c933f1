"""Use case: take in verified helpdesk webhooks: keep each raw delivery, read it, store its outcomes once.

Two steps, in two transactions:
1. `keep`: the raw delivery, before the HTTP answer, so a crash after a 2xx loses nothing. It was read
   already (`prepare`): one that cannot be read is kept as failed and answered 400; one with outcome
   events is kept as received, and its events wait for step 2.
2. `store_outcomes`: the events of received deliveries, many deliveries a transaction (where each costs
   a fraction of what it would alone), then the deliveries marked parsed.
Where the raw delivery was made safe before the answer some other way (on SQLite, the webhook journal:
storage/webhook_journal.py), both steps share one transaction, and `keep(..., with_events=True)` keeps a
delivery as parsed at once rather than as received and then updated.

In the web process step 2 runs on a background thread just after the answer (jobs/helpdesk/ingest_queue.py).
A delivery a crash left received is read again from its raw body by `finish_received` (every scheduler
tick), as `tandem webhooks replay` reads failed ones again after a fix: the raw delivery is the truth.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import orjson

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.providers import MAX_SECONDS, Provider
from storage.db import SessionFactory, transaction
from storage.helpdesk_events import (
    Writer,
    deliveries_with_status,
    delivery_row,
    learn_agent_emails,
    mark_received_parsed,
    recount_parsed,
    set_delivery_outcome,
    store_deliveries,
    store_delivery_alone,
    store_event_rows,
    ticket_created_at,
)
from storage.helpdesk_map import group_key

# Never kept with a delivery: they are credentials, and a replay does not verify again.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-tandem-token"})

_OPENED_UNKNOWN = "_opened_unknown"  # marks a prepared event row whose resolution time needs the database


@dataclass(frozen=True)
class Ingested:
    """What became of a delivery, for its sender's answer: how many outcome events it carries, or why it
    cannot be read. `duplicate` says whether it was kept before, None where it was journaled before
    anyone looked (jobs/helpdesk/ingest_queue.py)."""

    duplicate: bool | None
    events: int = 0
    problem: str = ""  # why the payload could not be read (answered 400); "" when it could
    ignored: str = ""


@dataclass(frozen=True)
class Delivery:
    """One verified delivery, read and made ready to keep before any lock is taken."""

    provider: str
    key: str  # as stored: the provider's delivery key, cut to its column
    row: dict[str, Any]  # the WebhookDelivery row
    parsed: ParsedPayload | None
    problem: str
    events: list[dict[str, Any]] = field(default_factory=list)  # HelpdeskEvent rows, but for delivery_id


@dataclass(frozen=True)
class Outcomes:
    """A kept delivery's outcome events (rows as `_row` makes them) and agent ids, waiting to be stored.
    `kept_parsed`: its delivery was kept as parsed, counting every one of its events as new, in the
    transaction that stores them (`keep(..., with_events=True)`); False: kept as received, before."""

    delivery_id: int
    provider: str
    events: Sequence[dict[str, Any]]
    agent_ids: Sequence[tuple[str, str]]
    kept_parsed: bool = False


def prepare(provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime) -> Delivery:
    """Everything that needs no database: the delivery key, the parse, the rows to store."""
    # A payload without a time of its own (a Freshdesk rule can send none) happened when it arrived: the
    # header is kept with the delivery, so a replay reads the same time.
    headers = headers if "date" in headers else {**headers, "date": _http_date(int(now.timestamp()))}
    parsed, problem = _parse(provider, body, headers)
    kept = {k: v for k, v in headers.items() if k not in CREDENTIAL_HEADERS}
    kept_headers = orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode()  # 0.3 us; json.dumps 4.6 us
    status = "failed" if parsed is None else ("received" if parsed.events else "ignored")
    row = delivery_row(provider.name, provider.delivery_key(body, headers), now, kept_headers, body, status, problem, 0)
    events = [_row(provider.name, event) for event in parsed.events] if parsed else []
    return Delivery(provider.name, row["delivery_key"], row, parsed, problem, events)


@lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    """The Date header of a Unix second: formatting one costs 2.5 us, and a busy second has thousands."""
    return format_datetime(datetime.fromtimestamp(second, UTC), usegmt=True)


def keep(
    db: Writer, deliveries: Sequence[Delivery], *, with_events: bool = False
) -> list[tuple[Ingested, Outcomes | None]]:
    """Keep deliveries in the caller's transaction, with the same outcome as one after the other in order:
    a delivery kept before, or earlier in `deliveries`, is a duplicate and keeps nothing. Returns each
    one's answer, and for a new one with outcome events, what `store_outcomes` is to store.

    `with_events`: the caller stores their events with `store_outcomes` in the same transaction, so a
    delivery with events is kept as parsed at once, each event counted as new, rather than kept as received
    and then updated: an UPDATE of every delivery in the batch saved (its row and its status index entry
    written twice). `store_outcomes` corrects the count of one whose events were stored before."""
    first: dict[tuple[str, str], int] = {}  # the index of the first delivery with each key
    for index, delivery in enumerate(deliveries):
        first.setdefault((delivery.provider, delivery.key), index)
    rows = [_as_kept(deliveries[index], with_events) for index in first.values()]
    ids = store_deliveries(db, rows)
    new = {first[key]: delivery_id for key, delivery_id in ids.items()}  # delivery id by index, of those kept
    return [_kept(delivery, new.get(index), with_events) for index, delivery in enumerate(deliveries)]


def _as_kept(delivery: Delivery, with_events: bool) -> dict[str, Any]:
    row = delivery.row
    if with_events and row["status"] == "received":
        return {**row, "status": "parsed", "events": len(delivery.events)}
    return row


def keep_alone(connection: sqlite3.Connection, delivery: Delivery) -> tuple[Ingested, Outcomes | None]:
    """`keep` for one delivery, in one autocommit statement on SQLite (storage.db.own_autocommit_connection)."""
    return _kept(delivery, store_delivery_alone(connection, delivery.row))


def answered(delivery: Delivery, duplicate: bool | None = None) -> Ingested:
    """What a delivery's sender is told: the same for a retry as for the first (journaled, a delivery is
    answered before anyone looks for its key)."""
    ignored = delivery.parsed.ignored if delivery.parsed else ""
    return _answer(duplicate, len(delivery.events), delivery.problem, ignored)


@lru_cache(maxsize=256)
def _answer(duplicate: bool | None, events: int, problem: str, ignored: str) -> Ingested:
    """The same few answers over and over (Ingested is immutable): each made once, not a dataclass a
    webhook (1 us). Bounded: a problem may quote the payload."""
    return Ingested(duplicate, events=events, problem=problem, ignored=ignored)


def _kept(delivery: Delivery, delivery_id: int | None, with_events: bool = False) -> tuple[Ingested, Outcomes | None]:
    """A delivery's answer, and its events to store; `delivery_id` None: it was kept before (a duplicate)."""
    if delivery_id is None:
        return answered(delivery, duplicate=True), None
    answer, parsed = answered(delivery, duplicate=False), delivery.parsed
    if parsed is None or not delivery.events:
        return answer, None
    return answer, Outcomes(delivery_id, delivery.provider, delivery.events, parsed.agent_ids, with_events)


def store_outcomes(
    db: Writer, batch: Sequence[Outcomes], known: Mapping[tuple[str, str], str] | None = None
) -> tuple[dict[int, int], dict[tuple[str, str], str]]:
    """Store the outcome events of kept deliveries in the caller's transaction, in order (an event stored
    before, or earlier in `batch`, is not stored again), and mark the deliveries parsed (those kept
    parsed already: their count corrected where some events were not new). Returns how many of each
    delivery's events were new, by its id, and the agent ids written (email by (provider, agent id));
    those in `known` with the same email are not written again."""
    known = known or {}
    emails = {(o.provider, agent): email for o in batch for agent, email in o.agent_ids}
    learned = {pair: email for pair, email in emails.items() if known.get(pair) != email}
    learn_agent_emails(db, learned)
    counts = _store_events(db, [(o.delivery_id, o.events) for o in batch])
    received = {o.delivery_id: counts[o.delivery_id] for o in batch if not o.kept_parsed}
    miscounted = {
        o.delivery_id: counts[o.delivery_id] for o in batch if o.kept_parsed and counts[o.delivery_id] != len(o.events)
    }
    mark_received_parsed(db, received)
    recount_parsed(db, miscounted)
    return counts, learned


def _store_events(db: Writer, deliveries: Sequence[tuple[int, Sequence[dict[str, Any]]]]) -> dict[int, int]:
    """Insert the event rows of kept deliveries, given as (delivery id, rows), in as few statements as
    their order allows; how many of each delivery's were new, by its id."""
    counts = dict.fromkeys((delivery_id for delivery_id, _ in deliveries), 0)
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        new = store_event_rows(db, pending)
        for row in pending:
            key = (row["provider"], row["event_key"])
            if key in new:  # the first row with a key is the one stored
                new.discard(key)
                counts[row["delivery_id"]] += 1
        pending.clear()

    for delivery_id, rows in deliveries:
        for prepared in rows:
            row = {**prepared, "delivery_id": delivery_id}
            if row.pop(_OPENED_UNKNOWN, False):
                # Resolution time from when an earlier event said the ticket was opened: the events
                # before this one, in this batch too, must be in the database to be asked.
                flush()
                row["resolution_seconds"] = _resolution(db, row)
            pending.append(row)
    flush()
    return counts


def replay_failed(
    factory: SessionFactory, providers: Mapping[str, Provider], provider_name: str | None = None
) -> tuple[int, int]:
    """Read every kept delivery that failed again, with today's parsers; (now read, still failing)."""
    return _read_again(factory, providers, "failed", provider_name, None)


def finish_received(
    factory: SessionFactory, providers: Mapping[str, Provider], before: datetime, limit: int = 2000
) -> tuple[int, int]:
    """Store the outcomes of deliveries kept before `before` but never stored (the process that kept
    them stopped first), read again from their raw bodies; (stored, now failing). At most `limit` a
    call: it runs in the scheduler's tick, which must not stall behind a backlog; the next tick goes on."""
    return _read_again(factory, providers, "received", None, before, limit)


def _read_again(
    factory: SessionFactory,
    providers: Mapping[str, Provider],
    status: str,
    provider_name: str | None,
    before: datetime | None,
    limit: int | None = None,
) -> tuple[int, int]:
    read = failing = last_id = 0
    while limit is None or read + failing < limit:
        with factory() as session:
            page = [
                (d.id, d.provider, d.body, d.headers)
                for d in deliveries_with_status(session, status, provider_name, before, after_id=last_id)
            ]
        if not page:
            break
        for delivery_id, name, body, headers in page[: None if limit is None else limit - read - failing]:
            last_id = delivery_id
            if _read_one(factory, providers, delivery_id, name, body, headers):
                read += 1
            else:
                failing += 1
    return read, failing


def _read_one(
    factory: SessionFactory, providers: Mapping[str, Provider], delivery_id: int, name: str, body: bytes, headers: str
) -> bool:
    """Read a kept delivery again and store its outcomes; False (and marked failed, with why) if it fails."""
    provider = providers.get(name)
    parsed, problem = _parse(provider, body, json.loads(headers)) if provider else (None, f"no helpdesk {name!r}")
    try:
        with transaction(factory) as session:
            if parsed is not None:
                set_delivery_outcome(session, delivery_id, "received" if parsed.events else "ignored", None, 0)
                rows = [_row(name, event) for event in parsed.events]
                store_outcomes(session, [Outcomes(delivery_id, name, rows, parsed.agent_ids)])
                return True
    except Exception as error:  # the database refuses what it says: kept for a replay after a fix
        problem = f"its events could not be stored: {type(error).__name__}"
    with transaction(factory) as session:
        set_delivery_outcome(session, delivery_id, "failed", problem, 0)
    return False


def _parse(provider: Provider, body: bytes, headers: Mapping[str, str]) -> tuple[ParsedPayload | None, str]:
    try:
        return provider.parse(body, headers), ""
    except PayloadError as error:
        return None, str(error) or "the payload could not be read"


def _row(provider: str, event: OutcomeEvent) -> dict[str, Any]:
    row = dict(vars(event))  # its fields: a dataclass's instance attributes are exactly those
    group = row.pop("group")
    # Case folding can lengthen a name ("ß" -> "ss"): the key keeps what fits its column.
    row["group_name"], row["group_key"] = group, group_key(group)[:255] if group else None
    row["provider"] = provider
    if event.kind == "solved" and event.resolution_seconds is None:
        # Not in this payload: computed from when the ticket was opened, as this or an earlier event said.
        if event.ticket_created_at is None:
            row[_OPENED_UNKNOWN] = True
        else:
            row["resolution_seconds"] = _seconds(event.occurred_at, event.ticket_created_at)
    return row


def _resolution(db: Writer, row: Mapping[str, Any]) -> int | None:
    opened = ticket_created_at(db, row["provider"], row["ticket_id"])
    return None if opened is None else _seconds(row["occurred_at"], opened)


def _seconds(occurred_at: datetime, opened: datetime) -> int | None:
    seconds = int((occurred_at - opened).total_seconds())
    return seconds if 0 <= seconds <= MAX_SECONDS else None
