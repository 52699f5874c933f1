"""Pure: Help Scout webhooks -> outcome events.

The event name is in the X-HelpScout-Event header; the body is the conversation (or the rating). The
docs' examples use the legacy field names (owner, mailbox {id, name}, threads, modifiedAt); "V2" payloads
follow Mailbox API 2.0 (assignee, mailboxId, closedByUser, userUpdatedAt, _embedded.threads). Both are read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.values import content_hash, derived_key, email_of, id_of, iso_time, load_json, text_of

NAME = "helpscout"
SIGNATURE = "x-helpscout-signature"
EVENT = "x-helpscout-event"
# Help Scout's three faces. Okay is neither good nor bad; the scores put them on the same 1-5 scale as the others.
RATINGS: dict[str, tuple[int, bool | None]] = {
    "great": (5, True),
    "okay": (3, None),
    "ok": (3, None),
    "bad": (1, False),
    "not good": (1, False),
}
OPEN = {"active", "open", "pending"}
UPDATED = ("userUpdatedAt", "userModifiedAt", "modifiedAt", "updatedAt")  # V2 first, then legacy names


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """base64(HMAC-SHA1(the webhook's secret, raw body)). No timestamp: replays dedupe on the content."""
    given = headers.get(SIGNATURE, "").strip()
    if not secret or not given:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest())
    return hmac.compare_digest(expected, given.encode("utf-8", "replace"))


def delivery_key(body: bytes, headers: Mapping[str, str]) -> str:
    """No delivery id exists: a hash of the event name and the canonical content. The name is part of it
    because several events (convo.status, convo.tags…) send the very same conversation body."""
    event = headers.get(EVENT, "").strip().encode("utf-8", "replace")
    return content_hash(body, salt=event + b"\n")


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
    event = headers.get(EVENT, "").strip()
    if not event:
        raise PayloadError("no X-HelpScout-Event header")
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise PayloadError("a Help Scout webhook body is a JSON object")
    if event == "satisfaction.ratings":
        return _rating(doc)
    if event not in ("convo.status", "convo.agent.reply.created"):
        return ParsedPayload(ignored=f"Help Scout {event}: Tandem does not use it")
    ticket = id_of(doc.get("id"))
    if ticket is None:
        raise PayloadError(f"Help Scout {event} without the conversation id")
    owner = _user(doc.get("assignee")) if "assignee" in doc else _user(doc.get("owner"))
    updated = next((t for t in (iso_time(doc.get(name)) for name in UPDATED) if t), None)
    if event == "convo.status":
        status = str(doc.get("status", "")).lower()
        if status == "closed":
            closer = _user(doc.get("closedByUser") or doc.get("closedBy"))
            closer = closer if closer[0] else (id_of(doc.get("closedBy")), None)  # V2: closedBy is the user's id
            kind, occurred, agent = "solved", iso_time(doc.get("closedAt")) or updated, owner if owner[0] else closer
        elif status in OPEN and _was_closed(doc):
            kind, occurred, agent = "reopened", updated, owner
        else:
            return ParsedPayload(ignored=f"Help Scout status {status or '?'}: no outcome", agent_ids=_users(doc))
        key = derived_key(ticket, kind, occurred.isoformat() if occurred else "")
    else:
        replies = [t for t in _threads(doc) if t.get("type") in ("reply", "message") and _user(t.get("createdBy"))[0]]
        latest = max(
            replies, key=lambda t: iso_time(t.get("createdAt")) or datetime.min.replace(tzinfo=UTC), default=None
        )
        if latest is not None and id_of(latest.get("id")):
            # Keyed by thread: a rating names the thread it rates (threadId), so the rated reply can be found.
            kind, occurred, agent = "replied", iso_time(latest.get("createdAt")), _user(latest.get("createdBy"))
            key = f"thread:{id_of(latest.get('id'))}"
        else:  # no threads embedded: the conversation's own update time and owner
            kind, occurred, agent = "replied", updated, owner
            key = derived_key(ticket, kind, occurred.isoformat() if occurred else "")
    if occurred is None:
        raise PayloadError(f"Help Scout {event} for {ticket} without a readable time")
    outcome = OutcomeEvent(
        event_key=key,
        kind=kind,
        ticket_id=ticket,
        occurred_at=occurred,
        agent_id=agent[0],
        agent_email=agent[1],
        group=_mailbox(doc),
        ticket_created_at=iso_time(doc.get("createdAt")),
    )
    return ParsedPayload(events=(outcome,), agent_ids=_users(doc))


def _rating(doc: dict[str, Any]) -> ParsedPayload:
    ticket = id_of(doc.get("ticketId"))  # the conversation's id, despite the name
    value = str(doc.get("rating", "")).strip().lower()
    if ticket is None or value not in RATINGS:
        raise PayloadError("Help Scout rating without ticketId and a rating of Great, Okay or Bad")
    occurred = iso_time(doc.get("createdAt")) or iso_time(doc.get("modifiedAt"))
    if occurred is None:
        raise PayloadError(f"Help Scout rating for {ticket} without a readable createdAt")
    score, good = RATINGS[value]
    # A rating changed later (Bad -> Great) is a new fact: the value is part of the key.
    event = OutcomeEvent(
        event_key=derived_key("rating", id_of(doc.get("id")) or ticket, value),
        kind="rated",
        ticket_id=ticket,
        occurred_at=occurred,
        group=_mailbox(doc),
        rating_good=good,
        rating_score=score,
    )
    return ParsedPayload(events=(event,))


def _was_closed(doc: dict[str, Any]) -> bool:
    """Active again after a close: it has a close time, or one of its threads left it closed."""
    return bool(doc.get("closedAt")) or any(str(t.get("status", "")).lower() == "closed" for t in _threads(doc))


def _threads(doc: dict[str, Any]) -> list[dict[str, Any]]:
    embedded = doc.get("_embedded")
    threads = embedded.get("threads") if isinstance(embedded, dict) else doc.get("threads")
    return [t for t in threads if isinstance(t, dict)] if isinstance(threads, list) else []


def _user(value: object) -> tuple[str | None, str | None]:
    """(id, email) of a Help Scout user (an agent); nothing for customers."""
    if not isinstance(value, dict) or value.get("type", "user") != "user":
        return None, None
    return id_of(value.get("id")), email_of(value.get("email"))


def _users(doc: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = [_user(doc.get(name)) for name in ("assignee", "owner", "closedByUser", "closedBy")]
    found += [_user(t.get("createdBy")) for t in _threads(doc)]
    return tuple(dict.fromkeys((i, e) for i, e in found if i and e))


def _mailbox(doc: dict[str, Any]) -> str | None:
    # The mailbox is the team: its name in legacy payloads; V2 has the id only (map it by id).
    mailbox = doc.get("mailbox")
    return (text_of(mailbox.get("name")) if isinstance(mailbox, dict) else None) or id_of(doc.get("mailboxId"))
