"""Use case: take in one verified helpdesk webhook: keep it, read it, store its outcomes, once.

The raw delivery is written in the same transaction as its events, before the HTTP answer: a crash
after the answer loses nothing, and a payload Tandem cannot read yet is kept for `tandem webhooks replay`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from sqlalchemy.orm import Session

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.providers import MAX_SECONDS, Provider
from storage.db import SessionFactory, transaction
from storage.helpdesk_events import (
    failed_deliveries,
    learn_agent_ids,
    set_delivery_outcome,
    store_delivery,
    store_events,
    ticket_created_at,
)
from storage.helpdesk_map import group_key

log = logging.getLogger(__name__)

# Never kept with a delivery: they are credentials, and a replay does not verify again.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-tandem-token"})


@dataclass(frozen=True)
class Ingested:
    duplicate: bool
    events: int = 0
    problem: str = ""  # why the payload could not be read (answered 400); "" when it could
    ignored: str = ""


def ingest(
    factory: SessionFactory, provider: Provider, body: bytes, headers: Mapping[str, str], now: datetime
) -> Ingested:
    # A payload without a time of its own (a Freshdesk rule can send none) happened when it arrived: the
    # header is kept with the delivery, so a replay reads the same time.
    headers = headers if "date" in headers else {**headers, "date": format_datetime(now, usegmt=True)}
    key = provider.delivery_key(body, headers)
    parsed, problem = _parse(provider, body, headers)
    kept_headers = json.dumps({k: v for k, v in headers.items() if k not in CREDENTIAL_HEADERS}, sort_keys=True)
    with transaction(factory) as session:
        status = "failed" if parsed is None else ("parsed" if parsed.events else "ignored")
        count = len(parsed.events) if parsed else 0
        delivery_id = store_delivery(
            session, provider.name, key, now, kept_headers, body, status, problem or None, count
        )
        if delivery_id is None:
            return Ingested(duplicate=True)
        if parsed is None:
            return Ingested(duplicate=False, problem=problem)
        stored = _store_parsed(session, provider.name, delivery_id, parsed)
    return Ingested(duplicate=False, events=stored, ignored=parsed.ignored)


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
            stored = _store_parsed(session, name, delivery_id, parsed)
            set_delivery_outcome(session, delivery_id, "parsed" if parsed.events else "ignored", None, stored)
            fixed += 1
    return fixed, still


def _parse(provider: Provider, body: bytes, headers: Mapping[str, str]) -> tuple[ParsedPayload | None, str]:
    try:
        return provider.parse(body, headers), ""
    except PayloadError as error:
        return None, str(error) or "the payload could not be read"


def _store_parsed(session: Session, provider: str, delivery_id: int, parsed: ParsedPayload) -> int:
    learn_agent_ids(session, provider, parsed.agent_ids)
    rows = [_row(session, provider, event) for event in parsed.events]
    return store_events(session, provider, delivery_id, rows)


def _row(session: Session, provider: str, event: OutcomeEvent) -> dict[str, Any]:
    row = asdict(event)
    group = row.pop("group")
    # Case folding can lengthen a name ("ß" -> "ss"): the key keeps what fits its column.
    row["group_name"], row["group_key"] = group, group_key(group)[:255] if group else None
    if event.kind == "solved" and event.resolution_seconds is None:
        # Not in this payload: computed from when the ticket was opened, as this or an earlier event said.
        opened = event.ticket_created_at or ticket_created_at(session, provider, event.ticket_id)
        seconds = int((event.occurred_at - opened).total_seconds()) if opened is not None else -1
        if 0 <= seconds <= MAX_SECONDS:
            row["resolution_seconds"] = seconds
    return row
