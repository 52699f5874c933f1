from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.helpdesk import zendesk
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

# The docs' Node example secret (the base64 text of this_secret_is_for_testing_only), used as a plain string.
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
STAMP = "2025-01-08T16:45:21Z"
NOW = datetime(2025, 1, 8, 16, 45, 30, tzinfo=UTC).timestamp()
SOLVED_EVENT = "zendesk/event_ticket_status_changed_solved.json"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "helpdesks.md"


def signed(raw: bytes, secret: str = SECRET, stamp: str = STAMP) -> dict[str, str]:
    """Headers as Zendesk sends them: base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode(), stamp.encode() + raw, hashlib.sha256).digest()
    return {
        "x-zendesk-webhook-signature": base64.b64encode(digest).decode(),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-invocation-id": "8350205582",
    }


def status_event(previous: str, current: str) -> dict[str, object]:
    doc = fixture(SOLVED_EVENT)
    doc["event"] = {"previous": previous, "current": current}
    return doc


def comment_event(is_staff: bool, is_public: bool) -> dict[str, object]:
    doc = fixture(SOLVED_EVENT)
    doc["type"], doc["id"] = "zen:event-type:ticket.comment_added", "0f1e2d3c-comment"
    doc["event"] = {
        "comment": {
            "id": "31001",
            "body": "Thanks, that fixed it",
            "is_public": is_public,
            "author": {"id": "9001", "is_staff": is_staff, "name": "Ana"},
        }
    }
    return doc


def trigger(event: str = "solved", **values: str) -> bytes:
    """TRIGGER_BODY as Zendesk renders it, with placeholders replaced by `values` (unknown ones by "")."""
    rendered = {
        "ticket.id": "5158",
        "ticket.status": "Solved",
        "ticket.assignee.id": "8447388090494",
        "ticket.assignee.email": "Ana.Agent@Example.com",
        "ticket.group.name": "Tier 1",
        "ticket.created_at_with_timestamp": "2025-01-08T10:12Z",
        "ticket.updated_at_with_timestamp": "2025-01-08T16:45Z",
        "satisfaction.current_rating": "Unoffered",
        "current_user.id": "8447388090777",
        "current_user.email": "bo@example.com",
    }
    rendered.update({k.replace("__", "."): v for k, v in values.items()})
    text = zendesk.TRIGGER_BODY.replace('"event": "solved"', f'"event": "{event}"')
    for name, value in rendered.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode()


def test_the_worked_example_from_the_zendesk_docs_verifies_as_timestamp_then_body() -> None:
    raw, stamp = b'{"say": "hello"}', "2021-07-25T10:00:00Z"
    headers = {
        "x-zendesk-webhook-signature": "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=",
        "x-zendesk-webhook-signature-timestamp": stamp,
    }
    now = datetime(2021, 7, 25, 10, 0, 5, tzinfo=UTC).timestamp()
    assert zendesk.verify(raw, headers, "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", now)
    # The older docs page's signature is over body + timestamp: not what Zendesk sends.
    old = {**headers, "x-zendesk-webhook-signature": "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="}
    assert not zendesk.verify(raw, old, "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", now)


def test_the_shared_solved_event_verifies_and_becomes_one_solved_event() -> None:
    raw = fixture_bytes(SOLVED_EVENT)
    assert zendesk.verify(raw, signed(raw), SECRET, NOW)
    assert zendesk.parse(raw, signed(raw)) == ParsedPayload(
        events=(
            OutcomeEvent(
                event_key="a8b9c1d2-3e4f-5a6b-7c8d-9e0f1a2b3c4d",
                kind="solved",
                ticket_id="5158",
                occurred_at=datetime(2025, 1, 8, 16, 45, 20, 987654, tzinfo=UTC),
                agent_id="8447388090494",
                group="8447320466430",
                ticket_created_at=datetime(2025, 1, 8, 10, 12, 7, tzinfo=UTC),
            ),
        )
    )


def test_a_signature_with_another_secret_or_over_another_body_is_refused() -> None:
    raw = fixture_bytes(SOLVED_EVENT)
    assert not zendesk.verify(raw, signed(raw, secret="another secret"), SECRET, NOW)
    assert not zendesk.verify(raw + b" ", signed(raw), SECRET, NOW)
    assert not zendesk.verify(raw, signed(raw), "", NOW)


@pytest.mark.parametrize("missing", ["x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"])
def test_a_request_without_the_signature_or_its_timestamp_is_refused(missing: str) -> None:
    raw = fixture_bytes(SOLVED_EVENT)
    headers = {k: v for k, v in signed(raw).items() if k != missing}
    assert not zendesk.verify(raw, headers, SECRET, NOW)


@pytest.mark.parametrize(("offset", "accepted"), [(-3590, True), (-3610, False), (290, True), (310, False), (0, True)])
def test_signatures_are_taken_for_an_hour_and_up_to_five_minutes_ahead(offset: int, accepted: bool) -> None:
    raw, sent = b"{}", datetime(2025, 1, 8, 16, 0, tzinfo=UTC)
    stamp = sent.isoformat().replace("+00:00", "Z")
    assert zendesk.verify(raw, signed(raw, stamp=stamp), SECRET, sent.timestamp() - offset) is accepted


def test_an_unreadable_signature_timestamp_is_refused() -> None:
    assert not zendesk.verify(b"{}", signed(b"{}", stamp="yesterday"), SECRET, NOW)


def test_a_ticket_solved_again_after_a_reopen_is_solved_and_a_reopen_is_reopened() -> None:
    reopened = zendesk.parse(body(status_event("SOLVED", "OPEN")), {}).events[0]
    assert (reopened.kind, reopened.ticket_id, reopened.agent_id) == ("reopened", "5158", "8447388090494")
    assert zendesk.parse(body(status_event("PENDING", "SOLVED")), {}).events[0].kind == "solved"


@pytest.mark.parametrize(("previous", "current"), [("OPEN", "PENDING"), ("SOLVED", "CLOSED"), ("NEW", "OPEN")])
def test_status_changes_that_are_no_outcome_are_ignored_with_the_change_named(previous: str, current: str) -> None:
    result = zendesk.parse(body(status_event(previous, current)), {})
    assert result.events == () and f"{previous} -> {current}" in result.ignored


def test_a_public_comment_by_an_agent_is_a_reply_by_that_agent() -> None:
    [event] = zendesk.parse(body(comment_event(is_staff=True, is_public=True)), {}).events
    assert (event.kind, event.agent_id, event.event_key) == ("replied", "9001", "0f1e2d3c-comment")


@pytest.mark.parametrize(("is_staff", "is_public"), [(True, False), (False, True)])
def test_internal_notes_and_customer_comments_are_ignored(is_staff: bool, is_public: bool) -> None:
    result = zendesk.parse(body(comment_event(is_staff, is_public)), {})
    assert result.events == () and "public reply by an agent" in result.ignored


def test_event_types_tandem_does_not_use_are_ignored_by_name() -> None:
    doc = {**status_event("OPEN", "SOLVED"), "type": "zen:event-type:ticket.agent_assignment_changed"}
    assert "user ids only" in zendesk.parse(body(doc), {}).ignored
    user = {"type": "zen:event-type:user.active_changed", "id": "2b24ef10", "detail": {}, "event": {}}
    assert zendesk.parse(body(user), {}).ignored == "Zendesk event user.active_changed: Tandem does not use it"


def test_the_ticket_id_comes_from_the_subject_when_the_detail_has_none() -> None:
    doc = status_event("OPEN", "SOLVED")
    del doc["detail"]["id"]  # type: ignore[attr-defined]
    assert zendesk.parse(body(doc), {}).events[0].ticket_id == "5158"


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"id": None}, "without an id"), ({"detail": "5158"}, "detail and event"), ({"time": "soon"}, "readable time")],
)
def test_a_used_event_with_a_broken_envelope_is_refused_with_the_reason(change: dict[str, object], reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        zendesk.parse(body({**status_event("OPEN", "SOLVED"), **change}), {})


def test_the_trigger_body_for_a_solve_names_the_assignee_group_and_times() -> None:
    result = zendesk.parse(trigger("solved"), {})
    [event] = result.events
    assert event == OutcomeEvent(
        event_key=event.event_key,
        kind="solved",
        ticket_id="5158",
        occurred_at=datetime(2025, 1, 8, 16, 45, tzinfo=UTC),
        agent_email="ana.agent@example.com",
        agent_id="8447388090494",
        group="Tier 1",
        ticket_created_at=datetime(2025, 1, 8, 10, 12, tzinfo=UTC),
    )
    # The trigger payload is what teaches storage whose the event subscriptions' bare assignee ids are.
    assert result.agent_ids == (("8447388090494", "ana.agent@example.com"),)


@pytest.mark.parametrize(
    ("rendered", "good"), [("Good", True), ("Good, I'm satisfied", True), ("bad_with_comment", False), ("BAD", False)]
)
def test_a_satisfaction_rating_reads_as_good_or_bad_whatever_its_wording(rendered: str, good: bool) -> None:
    [event] = zendesk.parse(trigger("rated", satisfaction__current_rating=rendered), {}).events
    assert (event.kind, event.rating_good, event.rating_score) == ("rated", good, None)


def test_a_rating_trigger_without_a_good_or_bad_rating_is_ignored() -> None:
    result = zendesk.parse(trigger("rated", satisfaction__current_rating="Offered"), {})
    assert result.events == () and "'Offered'" in result.ignored


def test_a_reply_counts_for_the_agent_who_replied_not_the_assignee() -> None:
    result = zendesk.parse(trigger("replied"), {})
    assert (result.events[0].agent_id, result.events[0].agent_email) == ("8447388090777", "bo@example.com")
    assert set(result.agent_ids) == {("8447388090777", "bo@example.com"), ("8447388090494", "ana.agent@example.com")}


def test_placeholders_zendesk_renders_empty_or_leaves_alone_are_no_values() -> None:
    raw = trigger("reopened", ticket__assignee__id="", ticket__group__name="{{ticket.group.name}}")
    [event] = zendesk.parse(raw, {}).events
    assert (event.kind, event.agent_id, event.group) == ("reopened", None, None)


def test_a_trigger_without_updated_at_uses_the_signature_time_and_without_both_is_refused() -> None:
    raw = trigger(ticket__updated_at_with_timestamp="")
    assert zendesk.parse(raw, signed(raw)).events[0].occurred_at == datetime(2025, 1, 8, 16, 45, 21, tzinfo=UTC)
    with pytest.raises(PayloadError, match="updated_at"):
        zendesk.parse(raw, {})


def test_a_trigger_with_an_unknown_event_word_is_refused() -> None:
    with pytest.raises(PayloadError, match="'closed' is not one of solved, reopened, rated, replied"):
        zendesk.parse(trigger("closed"), {})


def test_the_same_trigger_fact_sent_twice_has_one_event_key() -> None:
    first = zendesk.parse(trigger(), {}).events[0]
    again = zendesk.parse(trigger().replace(b"\n", b"\n   "), {}).events[0]
    later = zendesk.parse(trigger(ticket__updated_at_with_timestamp="2025-02-01T09:00Z"), {}).events[0]
    assert first.event_key == again.event_key != later.event_key


def test_the_rest_satisfaction_rating_object_reads_as_a_rating_of_its_ticket() -> None:
    [event] = zendesk.parse(fixture_bytes("zendesk/api_satisfaction_rating_good.json"), {}).events
    assert (event.kind, event.ticket_id, event.rating_good, event.agent_id, event.group) == (
        "rated",
        "208",
        True,
        "135",
        "44",
    )
    assert event.occurred_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"ticket solved", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"hello": "world"}', "neither a Zendesk event"),
        (b'{"ticket_id": ""}', "empty ticket_id"),
    ],
)
def test_bodies_that_are_not_zendesk_webhooks_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        zendesk.parse(raw, {})


def test_the_delivery_key_is_the_event_id_else_the_invocation_else_the_content() -> None:
    raw = fixture_bytes(SOLVED_EVENT)
    assert zendesk.delivery_key(raw, signed(raw)) == "a8b9c1d2-3e4f-5a6b-7c8d-9e0f1a2b3c4d"
    assert zendesk.delivery_key(trigger(), signed(trigger())) == "invocation:8350205582"
    spaced = trigger().replace(b": ", b" :\t").replace(b"\n", b"\r\n")
    assert (
        zendesk.delivery_key(trigger(), {})
        == zendesk.delivery_key(spaced, {})
        != zendesk.delivery_key(trigger("rated"), {})
    )


def test_the_setup_guide_shows_the_trigger_body_this_module_reads() -> None:
    assert zendesk.TRIGGER_BODY in DOCS.read_text(encoding="utf-8")


@given(st.binary(max_size=300) | json_values.map(body) | cut_bytes(trigger()))
def test_parse_and_delivery_key_take_any_bytes(raw: bytes) -> None:
    parse_only_succeeds_or_refuses(zendesk.parse, raw, {})
    assert zendesk.delivery_key(raw, {})


@given(mutated(fixture(SOLVED_EVENT)) | mutated(comment_event(is_staff=True, is_public=True)))
def test_parse_takes_any_damaged_event(doc: object) -> None:
    parse_only_succeeds_or_refuses(zendesk.parse, body(doc), {})


PLACEHOLDERS = [
    "ticket__id",
    "satisfaction__current_rating",
    "ticket__updated_at_with_timestamp",
    "current_user__email",
]
RENDERED = st.text(st.characters(exclude_categories=["Cc", "Cs"], exclude_characters='"\\'), max_size=20)


@given(
    st.sampled_from(["solved", "reopened", "rated", "replied", ""]),
    st.dictionaries(st.sampled_from(PLACEHOLDERS), RENDERED),
)
def test_parse_takes_any_rendering_of_the_trigger_body(event: str, values: dict[str, str]) -> None:
    parse_only_succeeds_or_refuses(zendesk.parse, trigger(event, **values), {})
