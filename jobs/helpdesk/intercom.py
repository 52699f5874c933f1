"""Pure: Intercom webhook notifications -> outcome events.

The envelope is {"type": "notification_event", "id": "notif_…", "topic": …, "data": {"item": …}}. The item's
shape follows the app's API version: 1.x has `assignee {id, email}` and parts with admin emails; 2.x has
`admin_assignee_id`, `team_assignee_id`, `statistics` and `conversation_rating`. Both are read. Times are Unix
seconds, except that 2.x webhook `statistics` carry ISO strings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.values import content_hash, email_of, id_of, iso_time, load_json, text_of

NAME = "intercom"
SIGNATURE = "x-hub-signature"
RESOLVED = "resolved"  # the ticket state category Intercom counts as done


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """`sha1=` + hex HMAC-SHA1(the app's client secret, raw body). No timestamp: replays dedupe on `id`."""
    scheme, _, given = headers.get(SIGNATURE, "").strip().partition("=")
    if not secret or scheme.lower() != "sha1" or not given:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))


def delivery_key(body: bytes, headers: Mapping[str, str]) -> str:
    """The notification id (the same on every attempt); a hash of the content for `ping`, whose id is null."""
    try:
        doc = load_json(body)
        if isinstance(doc, dict) and isinstance(doc.get("id"), str) and doc["id"].strip():
            return str(doc["id"]).strip()
    except Exception:  # never raise: an unreadable body is still a delivery to keep
        pass
    return content_hash(body)


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
    doc = load_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("topic"), str):
        raise PayloadError("an Intercom notification is a JSON object with a topic")
    topic = doc["topic"]
    if topic == "ping":
        return ParsedPayload(ignored="ping")
    reader = READERS.get(topic)
    if reader is None:
        return ParsedPayload(ignored=f"Intercom topic {topic}: Tandem does not use it")
    data = doc.get("data")
    item = data.get("item") if isinstance(data, dict) else None
    if not isinstance(item, dict) or id_of(item.get("id")) is None:
        raise PayloadError(f"Intercom {topic} without data.item and its id")
    outcomes = reader(item, _time(doc.get("created_at")))
    if not outcomes:
        return ParsedPayload(ignored=f"Intercom {topic}: no outcome in it", agent_ids=_admins(item))
    notification = id_of(doc.get("id"))
    if notification and not topic.startswith("ticket."):
        # The notification id is the event's id (a suffix each when one notification holds several replies).
        keys = [notification] if len(outcomes) == 1 else [f"{notification}:{i}" for i in range(len(outcomes))]
    else:
        keys = [None] * len(outcomes)  # derived from the ticket, kind and time
    events = tuple(_event(outcome, item, key) for outcome, key in zip(outcomes, keys, strict=True))
    return ParsedPayload(events=events, agent_ids=_admins(item))


class _Outcome(NamedTuple):
    """What a reader found, made an OutcomeEvent once its key is known (`parse` decides which key)."""

    kind: str
    occurred: datetime | None
    agent: tuple[str | None, str | None]  # (admin id, email)
    more: dict[str, Any]


def _outcome(kind: str, occurred: datetime | None, agent: tuple[str | None, str | None], **more: Any) -> _Outcome:
    return _Outcome(kind, occurred, agent, more)


def _closed(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    closes = [p for p in _parts(item) if p.get("part_type") == "close"]
    stats = _stats(item)
    occurred = _time(closes[-1].get("created_at")) if closes else None
    occurred = occurred or _time(stats.get("last_close_at")) or _time(item.get("updated_at")) or sent
    assignee = _assignee(item)  # whose ticket it is; the admin who closed it when nobody is assigned
    return [_outcome("solved", occurred, assignee if assignee[0] or not closes else _author(closes[-1]))]


def _opened(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    stats = _stats(item)
    # An admin opens a conversation that was closed (or snoozed); 2.x statistics tell which.
    if stats and not stats.get("count_reopens") and not stats.get("last_close_at"):
        return []
    opens = [p for p in _parts(item) if p.get("part_type") == "open"]
    occurred = (_time(opens[-1].get("created_at")) if opens else None) or _time(item.get("updated_at")) or sent
    return [_outcome("reopened", occurred, _assignee(item))]


def _replied(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    stats, created = _stats(item), _time(item.get("created_at"))
    first = _time(stats.get("first_admin_reply_at"))
    frt = int((first - created).total_seconds()) if first and created and first >= created else None
    if frt is None and isinstance(stats.get("time_to_admin_reply"), int) and stats["time_to_admin_reply"] >= 0:
        frt = int(stats["time_to_admin_reply"])  # business hours subtracted, when that is all there is
    # A reply is a part by an admin that the customer sees: a comment, or an assignment/close with a message.
    replies = [
        p
        for p in _parts(item)
        if _author(p)[0]
        and p.get("part_type") != "note"
        and (p.get("part_type") == "comment" or text_of(p.get("body")))
    ]
    if not replies:
        occurred = _time(stats.get("last_admin_reply_at")) or _time(item.get("updated_at")) or sent
        return [_outcome("replied", occurred, _assignee(item), first_response_seconds=frt)]
    return [
        _outcome("replied", _time(p.get("created_at")) or sent, _author(p), first_response_seconds=frt) for p in replies
    ]


def _rated(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    rating = item.get("conversation_rating") or item.get("ticket_rating")
    score = rating.get("rating") if isinstance(rating, dict) else None
    if not isinstance(rating, dict) or isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise PayloadError("Intercom rating without conversation_rating.rating from 1 to 5")
    teammate = rating.get("teammate")
    rated = id_of(teammate.get("id")) if isinstance(teammate, dict) and teammate.get("type") == "admin" else None
    occurred = _time(rating.get("created_at")) or _time(item.get("updated_at")) or sent
    # Scores 4-5 count as good and 1-2 as bad, as CSAT is usually counted; 3 is neither.
    good = True if score >= 4 else False if score <= 2 else None
    agent = (rated, None) if rated else _assignee(item)
    return [_outcome("rated", occurred, agent, rating_score=score, rating_good=good)]


def _ticket_state(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    state = item.get("ticket_state")
    current = state.get("category") if isinstance(state, dict) else state
    changes = [p for p in _parts(item) if str(p.get("part_type", "")).startswith("ticket_state_updated")]
    previous = changes[-1].get("previous_ticket_state") if changes else None
    current = current or (changes[-1].get("ticket_state") if changes else None)
    if current == RESOLVED and previous != RESOLVED:
        kind = "solved"
    elif previous == RESOLVED and isinstance(current, str) and current != RESOLVED:
        kind = "reopened"
    else:
        return []
    occurred = (_time(changes[-1].get("created_at")) if changes else None) or _time(item.get("updated_at")) or sent
    return [_outcome(kind, occurred, _assignee(item))]


def _ticket_closed(item: dict[str, Any], sent: datetime | None) -> list[_Outcome]:
    # Sent alongside ticket.state.updated for the same change: the derived key (ticket, kind, time) makes
    # the two one event whichever topics the app subscribes to.
    events = _ticket_state(item, sent)
    if events:
        return events
    changes = [p for p in _parts(item) if str(p.get("part_type", "")).startswith("ticket_state_updated")]
    occurred = (_time(changes[-1].get("created_at")) if changes else None) or _time(item.get("updated_at")) or sent
    return [_outcome("solved", occurred, _assignee(item))]


READERS: dict[str, Callable[[dict[str, Any], datetime | None], list[_Outcome]]] = {
    "conversation.admin.closed": _closed,
    "conversation.admin.opened": _opened,
    "conversation.admin.replied": _replied,
    "conversation.rating.added": _rated,
    "ticket.state.updated": _ticket_state,
    "ticket.closed": _ticket_closed,
    "ticket.rating.provided": _rated,
}


def _event(outcome: _Outcome, item: dict[str, Any], key: str | None) -> OutcomeEvent:
    """`key` None: derived from the ticket, kind and time."""
    kind, occurred, (agent_id, agent_email), more = outcome
    ticket = str(id_of(item.get("id")))
    if occurred is None:
        raise PayloadError(f"Intercom {kind} event for {ticket} without a readable time")
    return OutcomeEvent(
        event_key=key or hashlib.sha256(f"{ticket}\x1f{kind}\x1f{occurred.isoformat()}".encode()).hexdigest(),
        kind=kind,
        ticket_id=ticket,
        occurred_at=occurred,
        agent_id=agent_id,
        agent_email=agent_email,
        # Intercom payloads name the team by id only: map it with /pulse helpdesk group "<team id>" TEAM.
        group=id_of(item.get("team_assignee_id")),
        ticket_created_at=_time(item.get("created_at")),
        **more,
    )


def _assignee(item: dict[str, Any]) -> tuple[str | None, str | None]:
    legacy = item.get("assignee")
    if isinstance(legacy, dict) and legacy.get("type") == "admin":
        return id_of(legacy.get("id")), email_of(legacy.get("email"))
    return id_of(item.get("admin_assignee_id")), None


def _author(part: dict[str, Any]) -> tuple[str | None, str | None]:
    author = part.get("author")
    if not isinstance(author, dict) or author.get("type") != "admin":
        return None, None
    return id_of(author.get("id")), email_of(author.get("email"))


def _admins(item: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(admin id, email) pairs the payload shows, so storage learns whose the 2.x ids are."""
    seen = [_assignee(item), *(_author(p) for p in _parts(item))]
    return tuple(dict.fromkeys((i, e) for i, e in seen if i and e))


def _parts(item: dict[str, Any]) -> list[dict[str, Any]]:
    for name in ("conversation_parts", "ticket_parts"):
        listing = item.get(name)
        parts = listing.get(name) if isinstance(listing, dict) else None
        if isinstance(parts, list):
            return [p for p in parts if isinstance(p, dict)]
    return []


def _stats(item: dict[str, Any]) -> dict[str, Any]:
    stats = item.get("statistics")
    return stats if isinstance(stats, dict) else {}


def _time(value: object) -> datetime | None:
    """Unix seconds, or ISO 8601 (2.x webhook statistics); 0 and naive times mean none / UTC."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return iso_time(value)
