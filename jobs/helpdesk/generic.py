"""Pure: Tandem's own webhook format, for any helpdesk or script -> outcome events.

The contract is docs/webhooks/generic.schema.json: one event object, or {"events": [...]} with 1 to
MAX_BATCH of them. This module enforces the same rules itself (the tests check that the two agree), so
the server needs no JSON Schema library, and a refusal names the field and what is wrong with it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobs.helpdesk.events import KINDS, OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.values import content_hash, load_json

NAME = "generic"
MAX_BATCH = 100
MAX_SECONDS = 10 * 365 * 24 * 3600  # first response and resolution times: up to ten years
REQUIRED = ("event_id", "type", "ticket_id", "occurred_at")
OPTIONAL = (
    "agent_email",
    "agent_id",
    "group",
    "rating",
    "ticket_created_at",
    "first_response_seconds",
    "resolution_seconds",
)
# The schema's patterns, matched the way a JSON Schema validator does (search, ^ and $ anchored), so the two agree.
# RFC 3339 date-time: seconds required, an offset required (Z or ±hh:mm).
DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
LENGTHS = {"event_id": 128, "ticket_id": 64, "agent_id": 64, "group": 255, "agent_email": 254}


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """`Authorization: Bearer <TANDEM_WEBHOOK_TOKEN>`, compared in constant time."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if not secret or scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(secret.encode(), token.strip().encode("utf-8", "replace"))


def delivery_key(body: bytes, headers: Mapping[str, str]) -> str:
    """The event's event_id; for a batch (or an unreadable body) a hash of the canonical content."""
    try:
        doc = load_json(body)
        if isinstance(doc, dict) and isinstance(doc.get("event_id"), str) and doc["event_id"].strip():
            return str(doc["event_id"]).strip()
    except Exception:  # never raise: an unreadable body is still a delivery to keep
        pass
    return content_hash(body)


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise PayloadError('expected a JSON object: one event, or {"events": [...]}')
    if "events" not in doc:
        events: tuple[OutcomeEvent, ...] = (_event(doc, "the event"),)
    else:
        extra = sorted(set(doc) - {"events"})
        if extra:
            raise PayloadError(f"a batch has only an events list, not {extra[0]!r}")
        items = doc["events"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise PayloadError(f"events is a list of 1 to {MAX_BATCH} events")
        events = tuple(_event(item, f"events[{i}]") for i, item in enumerate(items))
        keys = [e.event_key for e in events]
        repeated = next((i for i, key in enumerate(keys) if key in keys[:i]), None)
        if repeated is not None:
            raise PayloadError(f"events[{repeated}]: event_id {keys[repeated]!r} appears twice in the batch")
    pairs = ((e.agent_id, e.agent_email) for e in events)
    return ParsedPayload(events=events, agent_ids=tuple(dict.fromkeys((i, m) for i, m in pairs if i and m)))


def _event(item: object, where: str) -> OutcomeEvent:
    if not isinstance(item, dict):
        raise PayloadError(f"{where} is not a JSON object")
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise PayloadError(f"{where}: unknown field {unknown[0]!r}")
    missing = [name for name in REQUIRED if name not in item]
    if missing:
        raise PayloadError(f"{where}: {missing[0]} is required")
    kind = item["type"]
    if kind not in KINDS:
        raise PayloadError(f"{where}: type is one of {', '.join(KINDS)}")
    good, score = None, None
    if kind == "rated":
        if item.get("rating") is None:
            raise PayloadError(f"{where}: a rated event needs a rating (good, bad, or 1-5)")
        good, score = _rating(item["rating"], where)
    elif item.get("rating") is not None:
        raise PayloadError(f"{where}: rating is only for rated events")
    occurred = _moment(item["occurred_at"], "occurred_at", where)
    email = _string(item, "agent_email", where)
    if email is not None and not EMAIL.search(item["agent_email"]):
        raise PayloadError(f"{where}: agent_email is not an email address")
    return OutcomeEvent(
        event_key=str(_string(item, "event_id", where)),
        kind=kind,
        ticket_id=str(_string(item, "ticket_id", where, numbers=True)),
        occurred_at=occurred,
        agent_email=email.lower() if email else None,
        agent_id=_string(item, "agent_id", where, numbers=True),
        group=_string(item, "group", where),
        rating_good=good,
        rating_score=score,
        ticket_created_at=_time(item, "ticket_created_at", where),
        first_response_seconds=_seconds(item, "first_response_seconds", where),
        resolution_seconds=_seconds(item, "resolution_seconds", where),
    )


def _rating(value: object, where: str) -> tuple[bool | None, int | None]:
    if value in ("good", "bad"):
        return value == "good", None
    score = _whole(value)
    if score is not None and 1 <= score <= 5:
        # 4-5 good and 1-2 bad, as Tandem reads every 1-5 scale; 3 is neither.
        return (True if score >= 4 else False if score <= 2 else None), score
    raise PayloadError(f"{where}: rating is good, bad, or a whole number from 1 to 5")


def _string(item: dict[str, Any], name: str, where: str, numbers: bool = False) -> str | None:
    """A non-blank string within its length (or, for ids, a whole number), stripped."""
    value = item.get(name)
    if value is None and name not in REQUIRED:
        return None
    if numbers and _whole(value) is not None:
        value = str(_whole(value))
    if not isinstance(value, str) or not value.strip():
        kind = "a string or a whole number" if numbers else "a string"
        raise PayloadError(f"{where}: {name} is {kind} with at least one non-space character")
    if len(value) > LENGTHS[name]:
        raise PayloadError(f"{where}: {name} has more than {LENGTHS[name]} characters")
    return value.strip()


def _time(item: dict[str, Any], name: str, where: str) -> datetime | None:
    value = item.get(name)
    return None if value is None else _moment(value, name, where)


def _moment(value: object, name: str, where: str) -> datetime:
    try:
        if isinstance(value, str) and DATE_TIME.search(value):
            return datetime.fromisoformat(value.strip()).astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise PayloadError(f"{where}: {name} is an RFC 3339 date-time with an offset, like 2026-03-02T14:05:00Z")


def _seconds(item: dict[str, Any], name: str, where: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    seconds = _whole(value)
    if seconds is None or not 0 <= seconds <= MAX_SECONDS:
        raise PayloadError(f"{where}: {name} is a whole number of seconds from 0 to {MAX_SECONDS}")
    return seconds


def _whole(value: object) -> int | None:
    """A JSON whole number (5 or 5.0: JSON Schema's integer), never a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
