from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.helpdesk import intercom
from jobs.helpdesk.events import OutcomeEvent, ParsedPayload, PayloadError
from tests.jobs.helpdesk import (
    body,
    cut_bytes,
    fixture,
    fixture_bytes,
    json_values,
    mutated,
    parse_only_succeeds_or_refuses,
)

CLIENT_SECRET = "f6d1c0e0-intercom-client-secret"
CLOSED = "intercom/conversation_admin_closed.json"


def signed(raw: bytes, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """As Intercom signs: X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>."""
    return {"x-hub-signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()}


def notification(topic: str, item: dict[str, Any], notif: str | None = "notif_5e1f") -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "i6wc9ipe",
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "id": notif,
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1767600000,
        "created_at": 1767600000,
        "self": None,
    }


def part(part_type: str, created_at: int, author: dict[str, Any], body_html: str | None = None) -> dict[str, Any]:
    return {"type": "conversation_part", "id": f"p{created_at}", "part_type": part_type, "body": body_html,
            "created_at": created_at, "author": author}  # fmt: skip


ADMIN = {"type": "admin", "id": "814860", "name": "Mark Strong", "email": "MK@acmeinc.org"}


def conversation_v2(**more: Any) -> dict[str, Any]:
    """A 2.x conversation: ids only for the assignee and team, statistics as ISO strings (as webhooks send)."""
    item = {
        "type": "conversation",
        "id": "215475262949230",
        "created_at": 1767590000,
        "updated_at": 1767599990,
        "state": "open",
        "open": True,
        "admin_assignee_id": 814860,
        "team_assignee_id": 5017691,
        "statistics": {
            "type": "conversation_statistics",
            "first_admin_reply_at": "2026-01-05T05:23:20.000Z",
            "time_to_admin_reply": 45,
            "count_reopens": 0,
            "last_close_at": None,
        },
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0},
    }
    item.update(more)
    return item


def ticket(state: Any, previous: str | None, **more: Any) -> dict[str, Any]:
    parts = [] if previous is None else [
        {"type": "ticket_part", "id": "37", "part_type": "ticket_state_updated_by_admin", "ticket_state": state
         if isinstance(state, str) else state["category"], "previous_ticket_state": previous,
         "created_at": 1739524230, "author": {"id": "8055717", "type": "admin", "email": "johndoe@gmail.com"}},
    ]  # fmt: skip
    item = {"type": "ticket", "id": "2", "ticket_id": "1", "ticket_state": state, "admin_assignee_id": "8055717",
            "team_assignee_id": "0", "created_at": 1739105560, "updated_at": 1739524231,
            "ticket_parts": {"type": "ticket_part.list", "ticket_parts": parts}}  # fmt: skip
    item.update(more)
    return item


def parsed(topic: str, item: dict[str, Any], **kwargs: Any) -> ParsedPayload:
    return intercom.parse(body(notification(topic, item, **kwargs)), {})


def test_the_shared_closed_conversation_verifies_and_is_solved_by_its_assignee() -> None:
    raw = fixture_bytes(CLOSED)
    assert intercom.verify(raw, signed(raw), CLIENT_SECRET, 0.0)
    assert intercom.parse(raw, signed(raw)) == ParsedPayload(
        events=(
            OutcomeEvent(
                event_key="notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b",
                kind="solved",
                ticket_id="21322009097",
                occurred_at=datetime.fromtimestamp(1553291389, UTC),
                agent_email="cordelia@zulip.com",
                agent_id="1957471",
                ticket_created_at=datetime.fromtimestamp(1553290933, UTC),
            ),
        ),
        agent_ids=(("1957471", "cordelia@zulip.com"),),
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-hub-signature": ""}, {"x-hub-signature": "sha1="}, signed(b"other body"), signed(b"{}", "another")],
    ids=["missing", "empty", "no digest", "other body", "other secret"],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str]) -> None:
    assert not intercom.verify(b"{}", headers, CLIENT_SECRET, 0.0)


def test_a_sha256_signature_or_an_empty_secret_is_refused() -> None:
    digest = hmac.new(CLIENT_SECRET.encode(), b"{}", hashlib.sha256).hexdigest()
    assert not intercom.verify(b"{}", {"x-hub-signature": f"sha256={digest}"}, CLIENT_SECRET, 0.0)
    assert not intercom.verify(b"{}", signed(b"{}", ""), "", 0.0)


def test_the_ping_sent_when_the_webhook_is_saved_is_ignored_and_keyed_by_its_content() -> None:
    ping = {"type": "notification_event", "topic": "ping", "id": None, "data": {"item": {"type": "ping"}}}
    assert intercom.parse(body(ping), {}) == ParsedPayload(ignored="ping")
    assert intercom.delivery_key(body(ping), {}) == intercom.delivery_key(b"\n".join(body(ping).split(b" ")), {})
    assert len(intercom.delivery_key(body(ping), {})) == 64


def test_topics_tandem_does_not_use_are_ignored_by_name() -> None:
    result = parsed("conversation.admin.snoozed", conversation_v2())
    assert result.ignored == "Intercom topic conversation.admin.snoozed: Tandem does not use it"


def test_a_legacy_admin_reply_counts_for_the_admin_who_wrote_it() -> None:
    item = conversation_v2(admin_assignee_id=None, statistics=None)
    item["conversation_parts"]["conversation_parts"] = [part("comment", 1767599000, ADMIN, "<p>Try this</p>")]
    result = parsed("conversation.admin.replied", item)
    [event] = result.events
    assert (event.kind, event.event_key, event.agent_id, event.agent_email) == (
        "replied",
        "notif_5e1f",
        "814860",
        "mk@acmeinc.org",
    )
    assert event.occurred_at == datetime.fromtimestamp(1767599000, UTC)
    assert result.agent_ids == (("814860", "mk@acmeinc.org"),)


def test_a_2x_reply_carries_the_first_response_time_from_the_statistics() -> None:
    item = conversation_v2()
    item["conversation_parts"]["conversation_parts"] = [
        part("comment", 1767590600, {"type": "admin", "id": "814860"}, "<p>Hello</p>")
    ]
    [event] = parsed("conversation.admin.replied", item).events
    # first_admin_reply_at 05:23:20 minus created_at 05:13:20: ten calendar minutes (not the 45 business seconds)
    assert event.first_response_seconds == 600
    assert event.ticket_created_at == datetime.fromtimestamp(1767590000, UTC)
    assert (event.agent_id, event.group) == ("814860", "5017691")


def test_notes_bot_messages_and_customer_parts_are_not_replies() -> None:
    item = conversation_v2()
    item["conversation_parts"]["conversation_parts"] = [
        part("note", 1767590601, ADMIN, "<p>internal</p>"),
        part("comment", 1767590602, {"type": "bot", "id": "8055721"}, "<p>Fin here</p>"),
        part("comment", 1767590603, {"type": "user", "id": "5c95"}, "<p>thanks</p>"),
        part("assignment", 1767590604, ADMIN, "<p>Passing you to billing</p>"),
        part("comment", 1767590605, ADMIN, "<p>Also this</p>"),
    ]
    result = parsed("conversation.admin.replied", item)
    assert [e.occurred_at.timestamp() for e in result.events] == [1767590604, 1767590605]
    assert [e.event_key for e in result.events] == ["notif_5e1f:0", "notif_5e1f:1"]


def test_a_reply_notification_without_parts_still_counts_for_the_assignee() -> None:
    [event] = parsed("conversation.admin.replied", conversation_v2()).events
    assert (event.kind, event.agent_id) == ("replied", "814860")
    assert event.occurred_at == datetime.fromtimestamp(1767599990, UTC)


@pytest.mark.parametrize(("score", "good"), [(5, True), (4, True), (3, None), (2, False), (1, False)])
def test_a_rating_is_a_1_to_5_score_that_counts_for_the_rated_teammate(score: int, good: bool | None) -> None:
    rating = {"rating": score, "remark": "", "created_at": 1767600500, "contact": {"type": "contact", "id": "c1"},
              "teammate": {"type": "admin", "id": "991"}}  # fmt: skip
    [event] = parsed("conversation.rating.added", conversation_v2(conversation_rating=rating)).events
    assert (event.kind, event.rating_score, event.rating_good, event.agent_id) == ("rated", score, good, "991")
    assert event.occurred_at == datetime.fromtimestamp(1767600500, UTC)


@pytest.mark.parametrize("rating", [None, {"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": True}])
def test_a_rating_notification_without_a_1_to_5_score_is_refused(rating: Any) -> None:
    with pytest.raises(PayloadError, match="from 1 to 5"):
        parsed("conversation.rating.added", conversation_v2(conversation_rating=rating))


def test_an_admin_opening_a_closed_conversation_is_a_reopen() -> None:
    stats = {"count_reopens": 1, "last_close_at": "2026-01-05T06:00:00Z"}
    item = conversation_v2(statistics=stats)
    item["conversation_parts"]["conversation_parts"] = [part("open", 1767600100, ADMIN)]
    [event] = parsed("conversation.admin.opened", item).events
    assert (event.kind, event.occurred_at) == ("reopened", datetime.fromtimestamp(1767600100, UTC))
    legacy = conversation_v2(statistics=None)  # 1.x: no statistics; an admin open is taken as a reopen
    assert parsed("conversation.admin.opened", legacy).events[0].kind == "reopened"


def test_opening_a_conversation_that_was_never_closed_is_ignored() -> None:
    result = parsed("conversation.admin.opened", conversation_v2())
    assert result.events == () and "no outcome" in result.ignored


@pytest.mark.parametrize(
    ("state", "previous", "kind"),
    [
        ("resolved", "in_progress", "solved"),
        ({"type": "ticket_state", "id": "4", "category": "resolved"}, "waiting_on_customer", "solved"),
        ("in_progress", "resolved", "reopened"),
    ],
)
def test_ticket_state_changes_into_and_out_of_resolved_are_solves_and_reopens(
    state: Any, previous: str, kind: str
) -> None:
    [event] = parsed("ticket.state.updated", ticket(state, previous)).events
    assert (event.kind, event.ticket_id, event.agent_id, event.group) == (kind, "2", "8055717", None)
    assert event.occurred_at == datetime.fromtimestamp(1739524230, UTC)


def test_other_ticket_state_changes_are_ignored() -> None:
    assert parsed("ticket.state.updated", ticket("in_progress", "submitted")).events == ()


def test_ticket_closed_and_the_state_change_it_comes_with_are_one_event() -> None:
    item = ticket("resolved", "in_progress")
    closed = parsed("ticket.closed", item, notif="notif_a").events[0]
    state = parsed("ticket.state.updated", item, notif="notif_b").events[0]
    assert closed == state
    assert parsed("ticket.closed", ticket("resolved", None)).events[0].kind == "solved"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<xml/>", "not JSON"),
        (b'"ping"', "with a topic"),
        (b'{"type": "notification_event"}', "with a topic"),
        (body(notification("conversation.admin.closed", {"type": "conversation"})), "data.item and its id"),
        (body({"topic": "conversation.admin.closed", "data": []}), "data.item and its id"),
    ],
)
def test_bodies_that_are_not_intercom_notifications_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        intercom.parse(raw, {})


def test_a_close_without_any_time_is_refused() -> None:
    doc = notification("conversation.admin.closed", conversation_v2(updated_at=None, statistics=None))
    doc["created_at"] = None
    with pytest.raises(PayloadError, match="without a readable time"):
        intercom.parse(body(doc), {})


def test_the_delivery_key_is_the_notification_id() -> None:
    raw = fixture_bytes(CLOSED)
    assert intercom.delivery_key(raw, {}) == "notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b"


@given(st.binary(max_size=300) | json_values.map(body) | cut_bytes(fixture_bytes(CLOSED)))
def test_parse_and_delivery_key_take_any_bytes(raw: bytes) -> None:
    parse_only_succeeds_or_refuses(intercom.parse, raw, {})
    assert intercom.delivery_key(raw, {})


def _damaged_inputs() -> st.SearchStrategy[Any]:
    closed = fixture(CLOSED)
    replied = copy.deepcopy(closed) | {"topic": "conversation.admin.replied"}
    rated = notification("conversation.rating.added", conversation_v2(conversation_rating={"rating": 4}))
    tickets = notification("ticket.state.updated", ticket("resolved", "in_progress"))
    return st.one_of(*(mutated(doc) for doc in (closed, replied, rated, tickets)))


@given(_damaged_inputs())
def test_parse_takes_any_damaged_notification(doc: Any) -> None:
    parse_only_succeeds_or_refuses(intercom.parse, body(doc), {})
