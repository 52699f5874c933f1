from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.helpdesk import helpscout
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

SECRET = "hs-webhook-secret-40-chars-at-most"
RATING = "helpscout/satisfaction_ratings.json"
JACK = {"id": 1234, "firstName": "Jack", "lastName": "Sprout", "email": "Jack.Sprout@Example.com", "type": "user"}
CUSTOMER = {"id": 29418, "firstName": "Vernon", "email": "vbear@mywork.com", "type": "customer"}


def signed(raw: bytes, event: str, secret: str = SECRET) -> dict[str, str]:
    """As Help Scout signs: base64(HMAC-SHA1(secret, body)), the event name alongside."""
    digest = hmac.new(secret.encode(), raw, hashlib.sha1).digest()
    return {"x-helpscout-signature": base64.b64encode(digest).decode(), "x-helpscout-event": event}


def thread(thread_id: int, kind: str, by: dict[str, Any], at: str, status: str = "active") -> dict[str, Any]:
    return {"id": thread_id, "type": kind, "status": status, "createdBy": by, "createdAt": at}


def legacy(status: str, threads: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """A conversation with the legacy field names, as in Help Scout's webhook docs."""
    doc = {
        "id": 2391938111,
        "number": 349,
        "owner": JACK,
        "mailbox": {"id": 1234, "name": "Support Mailbox"},
        "customer": CUSTOMER,
        "status": status,
        "subject": "I need help!",
        "createdAt": "2012-07-23T12:34:12Z",
        "modifiedAt": "2012-07-24T20:18:33Z",
        "closedAt": None,
        "closedBy": None,
        "threads": threads,
    }
    doc.update(more)
    return doc


def v2(status: str, threads: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """A conversation as Mailbox API 2.0 names its fields (V2 webhook payloads)."""
    doc = {
        "id": 10,
        "number": 12,
        "status": status,
        "mailboxId": 85,
        "assignee": {"id": 9, "first": "Mia", "last": "Wu", "email": "mia@example.com", "type": "user"},
        "primaryCustomer": {"id": 7, "email": "bear@acme.com", "type": "customer"},
        "createdAt": "2026-01-05T08:00:00Z",
        "userUpdatedAt": "2026-01-05T09:30:00Z",
        "_embedded": {"threads": threads},
    }
    doc.update(more)
    return doc


def parsed(doc: Any, event: str) -> ParsedPayload:
    return helpscout.parse(body(doc), {"x-helpscout-event": event})


def test_the_shared_rating_verifies_and_is_a_great_rating_of_its_conversation() -> None:
    raw = fixture_bytes(RATING)
    headers = signed(raw, "satisfaction.ratings")
    assert helpscout.verify(raw, headers, SECRET, 0.0)
    result = helpscout.parse(raw, headers)
    assert result == ParsedPayload(
        events=(
            OutcomeEvent(
                event_key=result.events[0].event_key,
                kind="rated",
                ticket_id="1560011",
                occurred_at=datetime(2015, 4, 13, 12, 34, 12, tzinfo=UTC),
                group="My Mailbox",
                rating_good=True,
                rating_score=5,
            ),
        )
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-helpscout-signature": ""}, signed(b"{}", "convo.status", "another"), signed(b"[]", "convo.status")],
    ids=["missing", "empty", "other secret", "other body"],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str]) -> None:
    assert not helpscout.verify(b"{}", headers, SECRET, 0.0)
    assert not helpscout.verify(b"{}", signed(b"{}", "convo.status", ""), "", 0.0)


@pytest.mark.parametrize(
    ("rating", "score", "good"), [("Great", 5, True), ("Okay", 3, None), ("Bad", 1, False), ("Not Good", 1, False)]
)
def test_the_three_faces_are_scores_5_3_1_and_good_neither_bad(rating: str, score: int, good: bool | None) -> None:
    [event] = parsed({**fixture(RATING), "rating": rating}, "satisfaction.ratings").events
    assert (event.rating_score, event.rating_good) == (score, good)


def test_a_changed_rating_is_a_new_fact_and_the_same_one_resent_is_not() -> None:
    great = parsed(fixture(RATING), "satisfaction.ratings").events[0].event_key
    again = parsed({**fixture(RATING), "modifiedAt": "2015-04-15T00:00:00Z"}, "satisfaction.ratings").events[0]
    changed = parsed({**fixture(RATING), "rating": "Bad"}, "satisfaction.ratings").events[0]
    assert great == again.event_key != changed.event_key


def test_a_rating_that_is_no_face_is_refused() -> None:
    with pytest.raises(PayloadError, match="Great, Okay or Bad"):
        parsed({**fixture(RATING), "rating": "Amazing"}, "satisfaction.ratings")


def test_a_closed_legacy_conversation_is_solved_by_its_owner_at_closed_at() -> None:
    doc = legacy("closed", [thread(1, "message", JACK, "2012-07-24T20:00:00Z", "closed")])
    doc.update(closedAt="2012-07-24T20:18:33Z", closedBy=JACK)
    result = parsed(doc, "convo.status")
    assert result.events[0] == OutcomeEvent(
        event_key=result.events[0].event_key,
        kind="solved",
        ticket_id="2391938111",
        occurred_at=datetime(2012, 7, 24, 20, 18, 33, tzinfo=UTC),
        agent_email="jack.sprout@example.com",
        agent_id="1234",
        group="Support Mailbox",
        ticket_created_at=datetime(2012, 7, 23, 12, 34, 12, tzinfo=UTC),
    )
    assert result.agent_ids == (("1234", "jack.sprout@example.com"),)


def test_a_closed_v2_conversation_without_assignee_counts_for_who_closed_it() -> None:
    closer = {"id": 31, "first": "Lu", "email": "lu@example.com", "type": "user"}
    doc = v2("closed", [], assignee=None, closedBy=31, closedByUser=closer, closedAt="2026-01-05T09:29:00Z")
    [event] = parsed(doc, "convo.status").events
    assert (event.kind, event.agent_id, event.agent_email, event.group) == ("solved", "31", "lu@example.com", "85")
    assert event.occurred_at == datetime(2026, 1, 5, 9, 29, tzinfo=UTC)


def test_active_again_after_a_close_is_a_reopen() -> None:
    closed_thread = thread(2, "lineitem", JACK, "2012-07-24T20:18:33Z", "closed")
    doc = legacy("active", [thread(3, "customer", CUSTOMER, "2012-07-25T08:00:00Z"), closed_thread])
    [event] = parsed(doc, "convo.status").events
    assert (event.kind, event.agent_id, event.occurred_at) == (
        "reopened",
        "1234",
        datetime(2012, 7, 24, 20, 18, 33, tzinfo=UTC),
    )
    assert parsed(v2("active", [], closedAt="2026-01-04T00:00:00Z"), "convo.status").events[0].kind == "reopened"


@pytest.mark.parametrize("status", ["active", "pending", "spam"])
def test_status_changes_of_a_conversation_never_closed_are_ignored(status: str) -> None:
    result = parsed(legacy(status, [thread(1, "customer", CUSTOMER, "2012-07-23T12:34:12Z")]), "convo.status")
    assert result.events == () and status in result.ignored


def test_an_agent_reply_is_the_latest_reply_thread_and_keyed_by_it() -> None:
    threads = [
        thread(88171881, "reply", {"id": 9, "email": "Mia@Example.com", "type": "user"}, "2026-01-05T09:00:00Z"),
        thread(88171882, "note", {"id": 9, "email": "mia@example.com", "type": "user"}, "2026-01-05T09:20:00Z"),
        thread(88171883, "reply", {"id": 12, "email": "ray@example.com", "type": "user"}, "2026-01-05T09:10:00Z"),
        thread(88171880, "customer", {"id": 7, "email": "bear@acme.com", "type": "customer"}, "2026-01-05T08:00:00Z"),
    ]
    result = parsed(v2("active", threads), "convo.agent.reply.created")
    [event] = result.events
    assert (event.kind, event.event_key, event.agent_id, event.agent_email) == (
        "replied",
        "thread:88171883",
        "12",
        "ray@example.com",
    )
    assert event.ticket_created_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert set(result.agent_ids) == {("9", "mia@example.com"), ("12", "ray@example.com")}


def test_a_legacy_agent_reply_is_a_message_thread() -> None:
    doc = legacy("active", [thread(501, "message", JACK, "2012-07-24T11:00:00Z")])
    [event] = parsed(doc, "convo.agent.reply.created").events
    assert (event.event_key, event.agent_email) == ("thread:501", "jack.sprout@example.com")


def test_a_reply_event_without_threads_counts_for_the_owner_at_the_update_time() -> None:
    [event] = parsed(legacy("active", []), "convo.agent.reply.created").events
    assert (event.agent_id, event.occurred_at) == ("1234", datetime(2012, 7, 24, 20, 18, 33, tzinfo=UTC))


def test_events_tandem_does_not_use_are_ignored_by_name() -> None:
    assert parsed(legacy("active", []), "convo.tags").ignored == "Help Scout convo.tags: Tandem does not use it"


@pytest.mark.parametrize(
    ("raw", "headers", "reason"),
    [
        (b"{}", {}, "no X-HelpScout-Event header"),
        (b"id=1", {"x-helpscout-event": "convo.status"}, "not JSON"),
        (b"[]", {"x-helpscout-event": "convo.status"}, "JSON object"),
        (b'{"status": "closed"}', {"x-helpscout-event": "convo.status"}, "without the conversation id"),
        (body(legacy("closed", [], modifiedAt=None)), {"x-helpscout-event": "convo.status"}, "readable time"),
    ],
)
def test_payloads_tandem_cannot_read_are_refused_with_a_reason(
    raw: bytes, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason):
        helpscout.parse(raw, headers)


def test_the_delivery_key_ignores_whitespace_but_not_the_event_name() -> None:
    raw = body(legacy("closed", []))
    status = helpscout.delivery_key(raw, {"x-helpscout-event": "convo.status"})
    assert status == helpscout.delivery_key(raw.replace(b", ", b",\n\t"), {"x-helpscout-event": "convo.status"})
    assert status != helpscout.delivery_key(raw, {"x-helpscout-event": "convo.tags"})


EVENTS = st.sampled_from(["convo.status", "convo.agent.reply.created", "satisfaction.ratings", "convo.tags", ""])


@given(st.binary(max_size=300) | json_values.map(body) | cut_bytes(fixture_bytes(RATING)), EVENTS)
def test_parse_and_delivery_key_take_any_bytes(raw: bytes, event: str) -> None:
    parse_only_succeeds_or_refuses(helpscout.parse, raw, {"x-helpscout-event": event})
    assert helpscout.delivery_key(raw, {"x-helpscout-event": event})


CONVERSATIONS = [
    legacy("closed", [thread(1, "message", JACK, "2012-07-24T20:00:00Z", "closed")], closedAt="2012-07-24T20:18:33Z"),
    v2("active", [thread(2, "reply", {"id": 9, "type": "user"}, "2026-01-05T09:00:00Z")], closedAt="2026-01-04T00:00Z"),
]


@given(st.one_of(mutated(fixture(RATING)), *(mutated(doc) for doc in CONVERSATIONS)), EVENTS)
def test_parse_takes_any_damaged_payload(doc: Any, event: str) -> None:
    parse_only_succeeds_or_refuses(helpscout.parse, body(doc), {"x-helpscout-event": event})
