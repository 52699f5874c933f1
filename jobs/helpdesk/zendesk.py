"""Pure: Zendesk webhooks -> outcome events.

Zendesk connects a webhook in one of two ways (a webhook cannot do both; docs/helpdesks.md):
- event subscriptions: Zendesk's fixed envelope (`type` zen:event-type:ticket.status_changed, `id`, `time`,
  `detail`, `event`). Exact event ids, but users and groups as ids only (no email, no group name).
- a trigger whose JSON body is TRIGGER_BODY below: agent emails, the group name and CSAT, no event id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from jobs.helpdesk.events import KINDS, OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.values import content_hash, derived_key, email_of, id_of, iso_time, load_json, text_of

NAME = "zendesk"
EVENT_TYPE = "zen:event-type:"
SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
INVOCATION = "x-zendesk-webhook-invocation-id"  # the same for every attempt of one trigger invocation
# Zendesk states no window. Its retries (timeouts up to 5 times, 409 3 times, 429/503 after retry-after) may
# send the request signed at the first attempt, and a refused retry (401) is not retried again: an hour keeps
# those, where Slack-style 5 minutes could lose them. A replay inside the hour is harmless: the delivery key
# and the event keys dedupe it.
MAX_SIGNATURE_AGE = 3600.0
MAX_CLOCK_SKEW = 300.0  # how far ahead of our clock a timestamp may be
OPEN_STATUSES = {"NEW", "OPEN", "PENDING", "HOLD"}
SOLVED_STATUSES = {"SOLVED", "CLOSED"}

# The trigger body. One trigger per kind, identical but for "event" (solved, reopened, rated, replied).
# Every placeholder is quoted; no free text (subject, comments) so a quote in it cannot break the JSON.
TRIGGER_BODY = """{"event": "solved",
 "ticket_id": "{{ticket.id}}",
 "status": "{{ticket.status}}",
 "assignee_id": "{{ticket.assignee.id}}",
 "assignee_email": "{{ticket.assignee.email}}",
 "group": "{{ticket.group.name}}",
 "created_at": "{{ticket.created_at_with_timestamp}}",
 "updated_at": "{{ticket.updated_at_with_timestamp}}",
 "satisfaction_rating": "{{satisfaction.current_rating}}",
 "current_user_id": "{{current_user.id}}",
 "current_user_email": "{{current_user.email}}"}"""


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """base64(HMAC-SHA256(secret, timestamp header + raw body)), the timestamp within the window."""
    signature, stamp = headers.get(SIGNATURE, "").strip(), headers.get(TIMESTAMP, "").strip()
    sent = iso_time(stamp)
    if not secret or not signature or sent is None:
        return False
    if not -MAX_CLOCK_SKEW <= now - sent.timestamp() <= MAX_SIGNATURE_AGE:
        return False
    digest = hmac.new(secret.encode(), stamp.encode("utf-8", "replace") + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("utf-8", "replace"))


def delivery_key(body: bytes, headers: Mapping[str, str]) -> str:
    """The event id (event subscriptions), else the trigger's invocation id, else a hash of the content."""
    try:
        doc = load_json(body)
        if isinstance(doc, dict) and str(doc.get("type", "")).startswith(EVENT_TYPE) and text_of(doc.get("id")):
            return str(text_of(doc.get("id")))
    except Exception:  # never raise: an unreadable body is still a delivery to keep
        pass
    invocation = headers.get(INVOCATION, "").strip()
    return f"invocation:{invocation}" if invocation else content_hash(body)


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise PayloadError("a Zendesk webhook body is a JSON object")
    kind = doc.get("type")
    if isinstance(kind, str) and kind.startswith(EVENT_TYPE):
        return _event(doc, kind.removeprefix(EVENT_TYPE))
    if "ticket_id" in doc:
        return _trigger(doc, headers)
    raise PayloadError("neither a Zendesk event (type zen:event-type:…) nor Tandem's trigger body (ticket_id)")


def _event(doc: dict[str, Any], kind: str) -> ParsedPayload:
    if kind not in ("ticket.status_changed", "ticket.comment_added"):
        reason = "it names user ids only" if kind == "ticket.agent_assignment_changed" else "Tandem does not use it"
        return ParsedPayload(ignored=f"Zendesk event {kind}: {reason}")
    detail, change, event_id = doc.get("detail"), doc.get("event"), text_of(doc.get("id"))
    if not isinstance(detail, dict) or not isinstance(change, dict):
        raise PayloadError(f"Zendesk event {kind} without its detail and event objects")
    if event_id is None:
        raise PayloadError(f"Zendesk event {kind} without an id")
    ticket = text_of(detail.get("id")) or _subject_ticket(doc.get("subject"))
    occurred = iso_time(doc.get("time"))
    if ticket is None or occurred is None:
        raise PayloadError(f"Zendesk event {kind} without a ticket id or a readable time")
    agent_id = id_of(detail.get("assignee_id"))
    if kind == "ticket.status_changed":
        before, after = str(change.get("previous", "")).upper(), str(change.get("current", "")).upper()
        if after in SOLVED_STATUSES and before not in SOLVED_STATUSES:
            outcome = "solved"
        elif before in SOLVED_STATUSES and after in OPEN_STATUSES:
            outcome = "reopened"
        else:
            return ParsedPayload(ignored=f"Zendesk status change {before or '?'} -> {after or '?'}")
    else:
        comment = change.get("comment")
        author = comment.get("author") if isinstance(comment, dict) else None
        if not isinstance(comment, dict) or not isinstance(author, dict):
            raise PayloadError("Zendesk comment_added without comment.author")
        if author.get("is_staff") is not True or comment.get("is_public") is not True:
            return ParsedPayload(ignored="Zendesk comment: not a public reply by an agent")
        outcome, agent_id = "replied", id_of(author.get("id"))
    event = OutcomeEvent(
        event_key=event_id,
        kind=outcome,
        ticket_id=ticket,
        occurred_at=occurred,
        agent_id=agent_id,
        # Event payloads name the group by id only: map it with /pulse helpdesk group "<group id>" TEAM.
        group=id_of(detail.get("group_id")),
        ticket_created_at=iso_time(detail.get("created_at")),
    )
    return ParsedPayload(events=(event,))


def _trigger(doc: dict[str, Any], headers: Mapping[str, str]) -> ParsedPayload:
    ticket = text_of(doc.get("ticket_id"))
    if ticket is None:
        raise PayloadError("Zendesk trigger body with an empty ticket_id")
    # "score" as in the REST satisfaction rating object, which a hand-written body may copy.
    raw_rating = text_of(doc.get("satisfaction_rating")) or text_of(doc.get("score")) or ""
    # The rendered text ("Good", "Good, I'm satisfied", "bad_with_comment"…) is not documented: first word.
    word = re.split(r"[^a-z]", raw_rating.lower(), maxsplit=1)[0]
    good = {"good": True, "bad": False}.get(word)
    kind = (text_of(doc.get("event")) or "").lower()
    if not kind:  # a hand-written body without "event": the unambiguous cases only
        status = (text_of(doc.get("status")) or "").lower()
        kind = "rated" if good is not None else "solved" if status == "solved" else ""
        if not kind:
            return ParsedPayload(ignored="Zendesk trigger body without an event field")
    if kind not in KINDS:
        raise PayloadError(f"Zendesk trigger body: event {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "rated" and good is None:
        return ParsedPayload(ignored=f"Zendesk satisfaction {raw_rating or 'empty'!r} is neither good nor bad")
    occurred = iso_time(doc.get("updated_at")) or iso_time(headers.get(TIMESTAMP))
    if occurred is None:
        raise PayloadError("Zendesk trigger body without a readable updated_at")
    # A reply is the current user's (the agent who answered); every other outcome the assignee's.
    who = ("current_user_id", "current_user_email") if kind == "replied" else ("assignee_id", "assignee_email")
    agent_id, email = id_of(doc.get(who[0])), email_of(doc.get(who[1]))
    pairs = ((agent_id, email), (id_of(doc.get("assignee_id")), email_of(doc.get("assignee_email"))))
    rating = good if kind == "rated" else None
    event = OutcomeEvent(
        event_key=derived_key(ticket, kind, occurred.isoformat(), rating),
        kind=kind,
        ticket_id=ticket,
        occurred_at=occurred,
        agent_email=email,
        agent_id=agent_id,
        group=text_of(doc.get("group")) or id_of(doc.get("group_id")),
        rating_good=rating,
        ticket_created_at=iso_time(doc.get("created_at")),
    )
    learned = tuple(dict.fromkeys((i, e) for i, e in pairs if i and e))
    return ParsedPayload(events=(event,), agent_ids=learned)


def _subject_ticket(subject: object) -> str | None:
    match = re.fullmatch(r"zen:ticket:(\d+)", subject) if isinstance(subject, str) else None
    return match.group(1) if match else None
