"""Use case: take in one verified helpdesk webhook: keep it, read it, store its outcomes, once.

The raw delivery is written in the same transaction as its events, before the HTTP answer: a crash
after the answer loses nothing, and a payload Tandem cannot read yet is kept for `tandem webhooks replay`.

Under load, deliveries that arrive together are committed together (`WebhookIngest`): one transaction,
one commit and one turn of the SQLite writer lock for all of them, and each sender is answered only once
its own delivery is committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from sqlalchemy import Engine

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.providers import MAX_SECONDS, Provider
from storage.db import SessionFactory, transaction, write_connection
from storage.group_commit import GroupCommit
from storage.helpdesk_events import (
    Writer,
    delivery_row,
    failed_deliveries,
    learn_agent_emails,
    learn_agent_ids,
    set_delivery_outcome,
    store_deliveries,
    store_event_rows,
    ticket_created_at,
)
from storage.helpdesk_map import group_key

log = logging.getLogger(__name__)

# Never kept with a delivery: they are credentials, and a replay does not verify again.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-tandem-token"})

_EVENT_FIELDS = tuple(f.name for f in fields(OutcomeEvent))
_OPENED_UNKNOWN = "_opened_unknown"  # marks a prepared event row whose resolution time needs the database

# At most this many deliveries share a transaction: a bigger group would only make its first sender wait.
MAX_GROUP = 64
# Agent ids a process remembers having stored (to skip writing them again): past this, it starts over.
MAX_KNOWN_AGENT_IDS = 10_000


@dataclass(frozen=True)
class Ingested:
    duplicate: bool
    events: int = 0
    problem: str = ""  # why the payload could not be read (answered 400); "" when it could
    ignored: str = ""


@dataclass(frozen=True)
class Delivery:
    """One verified delivery, read and made ready to store before any lock is taken."""

    provider: str
    key: str  # as stored: the provider's delivery key, cut to its column
    row: dict[str, Any]  # the WebhookDelivery row
    parsed: ParsedPayload | None
    problem: str
    events: list[dict[str, Any]] = field(default_factory=list)  # HelpdeskEvent rows, but for delivery_id


class WebhookIngest:
    """Takes in the verified deliveries of one process for one database.

    Deliveries that arrive while a group is being written wait, then are written together as the next
    group, in one transaction. Agent ids this process stored already are not written again.
    """

    def __init__(self, factory: SessionFactory, max_group: int = MAX_GROUP) -> None:
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the session factory must be bound to an engine")
        self._engine = engine
        self._known: dict[tuple[str, str], str] = {}  # email by (provider, agent id), as stored
        self._group: GroupCommit[Delivery, Ingested] = GroupCommit(self.write, max_group)

    def ingest(self, provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime) -> Ingested:
        """Keep, read and store one delivery; returns once it is committed (or raises when it could not be)."""
        return self.submit(prepare(provider, body, headers, now))

    def submit(self, delivery: Delivery) -> Ingested:
        """Store a prepared delivery with those arriving with it; returns once it is committed."""
        return self._group.submit(delivery)

    @property
    def waiting(self) -> int:
        """Deliveries not answered yet: being written, or waiting for the next group."""
        return self._group.waiting

    def write(self, group: Sequence[Delivery]) -> list[Ingested | Exception]:
        """Store deliveries in one transaction; each one's outcome, or the exception it failed with."""
        try:
            with write_connection(self._engine) as connection:
                results, learned = store(connection, group, self._known)
        except Exception as error:
            if len(group) == 1:
                return [error]
            # One delivery the database refuses must not take the others down with it: each on its own.
            log.warning(
                "%d webhook deliveries failed together (%s): storing each alone", len(group), type(error).__name__
            )
            return [outcome for delivery in group for outcome in self.write([delivery])]
        if len(self._known) + len(learned) > MAX_KNOWN_AGENT_IDS:
            self._known.clear()
        self._known.update(learned)
        return results


def prepare(provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime) -> Delivery:
    """Everything that needs no database: the delivery key, the parse, the rows to store."""
    # A payload without a time of its own (a Freshdesk rule can send none) happened when it arrived: the
    # header is kept with the delivery, so a replay reads the same time.
    headers = headers if "date" in headers else {**headers, "date": format_datetime(now, usegmt=True)}
    parsed, problem = _parse(provider, body, headers)
    kept_headers = json.dumps({k: v for k, v in headers.items() if k not in CREDENTIAL_HEADERS}, sort_keys=True)
    status = "failed" if parsed is None else ("parsed" if parsed.events else "ignored")
    count = len(parsed.events) if parsed else 0
    row = delivery_row(
        provider.name, provider.delivery_key(body, headers), now, kept_headers, body, status, problem or None, count
    )
    events = [_row(provider.name, event) for event in parsed.events] if parsed else []
    return Delivery(provider.name, row["delivery_key"], row, parsed, problem, events)


def store(
    db: Writer, deliveries: Sequence[Delivery], known: Mapping[tuple[str, str], str]
) -> tuple[list[Ingested], dict[tuple[str, str], str]]:
    """Store deliveries in the caller's transaction, with the same outcome as one after the other in
    order: a delivery stored before, or earlier in `deliveries`, is a duplicate and stores nothing.
    Returns each one's outcome, and the agent ids written (email by (provider, agent id)); those in
    `known` with the same email are not written again."""
    first: dict[tuple[str, str], int] = {}  # the index of the first delivery with each key
    for index, delivery in enumerate(deliveries):
        first.setdefault((delivery.provider, delivery.key), index)
    ids = store_deliveries(db, [deliveries[index].row for index in first.values()])
    new = {first[key]: delivery_id for key, delivery_id in ids.items()}  # delivery id by index, of those stored

    emails: dict[tuple[str, str], str] = {}
    readable: list[tuple[int, list[dict[str, Any]]]] = []
    for index, delivery in enumerate(deliveries):
        if index in new and delivery.parsed is not None:
            emails.update(((delivery.provider, agent), email) for agent, email in delivery.parsed.agent_ids)
            readable.append((new[index], delivery.events))
    learned = {pair: email for pair, email in emails.items() if known.get(pair) != email}
    learn_agent_emails(db, learned)
    counts = _store_events(db, readable)

    results = []
    for index, delivery in enumerate(deliveries):
        delivery_id = new.get(index)
        if delivery_id is None:
            results.append(Ingested(duplicate=True))
        elif delivery.parsed is None:
            results.append(Ingested(duplicate=False, problem=delivery.problem))
        else:
            results.append(Ingested(duplicate=False, events=counts[delivery_id], ignored=delivery.parsed.ignored))
    return results, learned


def _store_events(db: Writer, deliveries: Sequence[tuple[int, Sequence[dict[str, Any]]]]) -> dict[int, int]:
    """Insert the event rows of stored deliveries, given as (delivery id, rows), in as few statements as
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
                # before this one, in this group too, must be in the database to be asked.
                flush()
                row["resolution_seconds"] = _resolution(db, row)
            pending.append(row)
    flush()
    return counts


def replay_failed(
    factory: SessionFactory, providers: Mapping[str, Provider], provider_name: str | None = None
) -> tuple[int, int]:
    """Read every kept delivery that failed again, with today's parsers; (now read, still failing)."""
    with factory() as session:
        ids = [(d.id, d.provider, d.body, d.headers) for d in failed_deliveries(session, provider_name)]
    fixed = still = 0
    for delivery_id, name, body, headers in ids:
        provider = providers.get(name)
        if provider is None:
            still += 1
            continue
        parsed, problem = _parse(provider, body, json.loads(headers))
        with transaction(factory) as session:
            if parsed is None:
                set_delivery_outcome(session, delivery_id, "failed", problem, 0)
                still += 1
                continue
            learn_agent_ids(session, name, parsed.agent_ids)
            rows = [_row(name, event) for event in parsed.events]
            stored = _store_events(session, [(delivery_id, rows)])[delivery_id]
            set_delivery_outcome(session, delivery_id, "parsed" if parsed.events else "ignored", None, stored)
            fixed += 1
    return fixed, still


def _parse(provider: Provider, body: bytes, headers: Mapping[str, str]) -> tuple[ParsedPayload | None, str]:
    try:
        return provider.parse(body, headers), ""
    except PayloadError as error:
        return None, str(error) or "the payload could not be read"


def _row(provider: str, event: OutcomeEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _EVENT_FIELDS}
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
