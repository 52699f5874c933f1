"""Pure: Freshdesk automation-rule webhooks (Tandem's AUTOMATION_BODY) -> outcome events.

Freshdesk signs nothing and sends no event id: the rule sends a shared token (TOKEN_HEADER), and the body is
ours. `{{triggered_event}}` renders Ruby-ish text that is not JSON ("{status:{from:4,to:6}}"): quoted in the
template it arrives as a string we read with a regex; left unquoted (older rules) the body is repaired first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from jobs.helpdesk.values import derived_key, email_of, text_of

NAME = "freshdesk"
# The rule's "Add custom headers" sets this; Authorization (Bearer, or Basic as "Requires authentication" sends
# it, the token as user name or password) is accepted too, for rules that cannot set custom headers.
TOKEN_HEADER = "x-tandem-token"
RESOLVED = {"4", "5", "resolved", "closed"}  # Freshdesk's status ids 4 Resolved and 5 Closed, or their names
RATINGS: dict[str, tuple[bool | None, int | None]] = {
    "good": (True, None),
    "neutral": (None, None),
    "bad": (False, None),
}
RATINGS.update({str(n): ({4: True, 5: True, 1: False, 2: False}.get(n), n) for n in range(1, 6)})

# "csat" is only in the two feedback rules ("good" / "bad"); the status rule leaves it out. The dates come from
# Freshdesk's ticket Liquid drop (created_on, modified_on, status_changed_on); without them a retry and a new
# change could not be told apart.
AUTOMATION_BODY = """{"freshdesk_webhook": {
 "ticket_id": "{{ticket.id}}",
 "ticket_status": "{{ticket.status}}",
 "triggered_event": "{{triggered_event}}",
 "agent_email": "{{ticket.agent.email}}",
 "group_name": "{{ticket.group.name}}",
 "created_at": "{{ticket.created_on}}",
 "updated_at": "{{ticket.modified_on}}",
 "status_changed_at": "{{ticket.status_changed_on}}"}}"""


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> bool:
    """The shared token, in TOKEN_HEADER or Authorization; compared in constant time."""
    if not secret:
        return False
    offered = [headers.get(TOKEN_HEADER, "").strip()]
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        offered.append(value.strip())
    elif scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            offered += [user, password]
        except (binascii.Error, UnicodeDecodeError):
            pass
    expected = secret.encode()
    return any(hmac.compare_digest(expected, token.encode("utf-8", "replace")) for token in offered if token)


def delivery_key(body: bytes, headers: Mapping[str, str]) -> str:
    """No delivery id exists: a hash of the (repaired, canonical) content, so a retry gets the same key."""
    try:
        canonical = json.dumps(_load(body), sort_keys=True, separators=(",", ":")).encode()
    except Exception:  # never raise: an unreadable body is still a delivery to keep
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
    doc = _load(body)
    fields = doc.get("freshdesk_webhook", doc) if isinstance(doc, dict) else None
    if not isinstance(fields, dict):
        raise PayloadError(
            "a Freshdesk webhook body is a JSON object (Tandem's template wraps it in freshdesk_webhook)"
        )
    ticket = text_of(fields.get("ticket_id"))
    if ticket is None:
        raise PayloadError("Freshdesk body without ticket_id (use the template in docs/helpdesks.md)")
    trigger = text_of(fields.get("triggered_event")) or ""
    email = email_of(fields.get("agent_email") or fields.get("ticket_agent_email"))
    learned: tuple[tuple[str, str], ...] = ()
    reassigned = re.search(r"\bresponder_id\s*:\s*\{\s*from\s*:\s*\w*\s*,\s*to\s*:\s*(\d+)", trigger)
    if reassigned and email:  # the new agent's id, and the agent placeholder already names them
        learned = ((reassigned.group(1), email),)
    kinds: list[tuple[str, bool | None, int | None]] = []
    change = re.search(r"\bstatus\s*:\s*\{\s*from\s*:\s*([^,{}]*?)\s*,\s*to\s*:\s*([^,{}]*?)\s*\}", trigger)
    if change:
        before, after = change.group(1).lower() in RESOLVED, change.group(2).lower() in RESOLVED
        if after and not before:
            kinds.append(("solved", None, None))
        elif before and not after:
            kinds.append(("reopened", None, None))
    csat = (text_of(fields.get("csat")) or "").lower()
    if csat:
        if csat not in RATINGS:
            raise PayloadError(f"Freshdesk csat {csat!r} is not good, neutral, bad or 1-5")
        kinds.append(("rated", *RATINGS[csat]))
    if not kinds:
        return ParsedPayload(ignored=f"Freshdesk {trigger[:80] or 'update'}: no outcome in it", agent_ids=learned)
    stamps = {
        key: _time(fields.get(key)) for key in ("status_changed_at", "updated_at", "created_at") if fields.get(key)
    }
    received = _time(headers.get("date"))
    events = []
    for kind, good, score in kinds:
        body_time = stamps.get("status_changed_at") if kind != "rated" else None
        body_time = body_time or stamps.get("updated_at")
        occurred = body_time or received
        if occurred is None:
            raise PayloadError("Freshdesk body without a readable updated_at (add it: see docs/helpdesks.md)")
        # The body's own time keeps a second solve of the ticket apart from a retry; without it (older
        # templates) the same transition of the same ticket counts once.
        moment = body_time.isoformat() if body_time else ""
        events.append(
            OutcomeEvent(
                event_key=derived_key(ticket, kind, change.group(0) if change else "", moment, csat),
                kind=kind,
                ticket_id=ticket,
                occurred_at=occurred,
                agent_email=email,
                group=text_of(fields.get("group_name") or fields.get("ticket_group_name")),
                rating_good=good,
                rating_score=score,
                ticket_created_at=stamps.get("created_at"),
            )
        )
    return ParsedPayload(events=tuple(events), agent_ids=learned)


def _load(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise PayloadError("not JSON: nested too deeply") from None
    except ValueError as error:
        repaired = _quote_triggered_event(text)
        if repaired == text:
            raise PayloadError(f"not JSON ({error}); quote every placeholder in the template") from None
    try:
        return json.loads(repaired)
    except (ValueError, RecursionError) as error:
        raise PayloadError(f"not JSON ({error}); quote every placeholder in the template") from None


def _quote_triggered_event(text: str) -> str:
    """Turn `"triggered_event": {status:{from:4,to:6}}` (or a quoted value with quotes inside) into a string."""
    start = re.search(r'"triggered_event"\s*:\s*"?(?=\{)', text)
    if start is None:
        return text
    depth, end = 0, start.end()
    for end in range(start.end(), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    if depth != 0:
        return text
    raw = text[start.end() : end + 1]
    closing = end + 2 if text[end + 1 : end + 2] == '"' else end + 1
    head = text[: start.end()].rstrip('"')
    return head + json.dumps(raw.replace('"', "")) + text[closing:]


def _time(value: object) -> datetime | None:
    """ISO 8601, Ruby's "2024-03-05 10:11:12 +0530" / "… UTC", or an HTTP date; naive means UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"\s+UTC$", "+00:00", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
