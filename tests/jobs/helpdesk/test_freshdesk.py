from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.helpdesk import freshdesk
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

TOKEN = "fd-6d1f0c5e2b9a4e7f"
STATUS_CHANGED = "freshdesk/status_changed.json"
RECEIVED = {"date": "Wed, 08 Jan 2025 16:50:00 GMT"}
DOCS = Path(__file__).resolve().parents[3] / "docs" / "helpdesks.md"


def rule(triggered_event: str = "{status:{from:2,to:4}}", csat: str | None = None, **values: str) -> bytes:
    """AUTOMATION_BODY as Freshdesk renders it (Ruby times, as its Liquid drop prints them)."""
    rendered = {
        "ticket.id": "11",
        "ticket.status": "Resolved",
        "triggered_event": triggered_event,
        "ticket.agent.email": "Ana.Agent@Example.com",
        "ticket.group.name": "Billing",
        "ticket.created_on": "2025-01-08 10:12:07 UTC",
        "ticket.modified_on": "2025-01-08 16:45:20 UTC",
        "ticket.status_changed_on": "2025-01-08 16:45:19 UTC",
    }
    rendered.update({k.replace("__", "."): v for k, v in values.items()})
    text = freshdesk.AUTOMATION_BODY
    if csat is not None:  # the feedback rules carry one more line
        text = text.replace('"ticket_id"', f'"csat": "{csat}",\n "ticket_id"')
    for name, value in rendered.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode()


@pytest.mark.parametrize(
    "headers",
    [
        {"x-tandem-token": TOKEN},
        {"authorization": f"Bearer {TOKEN}"},
        {"authorization": "Basic " + base64.b64encode(f"tandem:{TOKEN}".encode()).decode()},
        {"authorization": "Basic " + base64.b64encode(f"{TOKEN}:X".encode()).decode()},
    ],
    ids=["custom header", "bearer", "basic password", "basic api key"],
)
def test_the_token_is_taken_in_the_custom_header_or_the_authorization_header(headers: dict[str, str]) -> None:
    assert freshdesk.verify(fixture_bytes(STATUS_CHANGED), headers, TOKEN, 0.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-tandem-token": TOKEN + "x"},
        {"x-tandem-token": ""},
        {"authorization": TOKEN},
        {"authorization": "Basic not-base64!"},
        {"authorization": "Basic " + base64.b64encode(b"tandem:wrong").decode()},
    ],
    ids=["missing", "wrong", "empty", "no scheme", "broken basic", "wrong basic"],
)
def test_a_missing_or_wrong_token_is_refused(headers: dict[str, str]) -> None:
    assert not freshdesk.verify(b"{}", headers, TOKEN, 0.0)


def test_no_token_is_accepted_when_tandem_has_none() -> None:
    assert not freshdesk.verify(b"{}", {"x-tandem-token": ""}, "", 0.0)


def test_the_shared_status_change_from_resolved_is_a_reopen_at_the_time_it_arrived() -> None:
    raw = fixture_bytes(STATUS_CHANGED)
    assert freshdesk.verify(raw, {"x-tandem-token": TOKEN}, TOKEN, 0.0)
    result = freshdesk.parse(raw, RECEIVED)
    assert result == ParsedPayload(
        events=(
            OutcomeEvent(
                event_key=result.events[0].event_key,
                kind="reopened",
                ticket_id="11",
                occurred_at=datetime(2025, 1, 8, 16, 50, tzinfo=UTC),
            ),
        )
    )


def test_a_body_with_no_time_at_all_is_kept_for_replay_with_the_fix_named() -> None:
    with pytest.raises(PayloadError, match="updated_at"):
        freshdesk.parse(fixture_bytes(STATUS_CHANGED), {})


def test_a_resolve_through_the_template_names_agent_group_and_the_status_change_time() -> None:
    [event] = freshdesk.parse(rule(), {}).events
    assert event == OutcomeEvent(
        event_key=event.event_key,
        kind="solved",
        ticket_id="11",
        occurred_at=datetime(2025, 1, 8, 16, 45, 19, tzinfo=UTC),
        agent_email="ana.agent@example.com",
        group="Billing",
        ticket_created_at=datetime(2025, 1, 8, 10, 12, 7, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("triggered_event", "kind"),
    [
        ("{status:{from:3,to:5}}", "solved"),
        ("{status:{from:5,to:2}}", "reopened"),
        ("{status:{from:Resolved,to:Open}}", "reopened"),
        ("{ status: { from: 6, to: 4 } }", "solved"),
    ],
)
def test_status_ids_4_and_5_are_resolved_and_leaving_them_is_a_reopen(triggered_event: str, kind: str) -> None:
    assert freshdesk.parse(rule(triggered_event), {}).events[0].kind == kind


@pytest.mark.parametrize(
    "triggered_event", ["{status:{from:4,to:5}}", "{priority:{from:3,to:1}}", "{ticket_action:created}"]
)
def test_changes_that_are_no_outcome_are_ignored(triggered_event: str) -> None:
    result = freshdesk.parse(rule(triggered_event), {})
    assert result.events == () and triggered_event in result.ignored


def test_a_reassignment_teaches_the_new_agents_id() -> None:
    result = freshdesk.parse(rule("{responder_id:{from:150006383528,to:150014937111}}"), {})
    assert result.events == ()
    assert result.agent_ids == (("150014937111", "ana.agent@example.com"),)


@pytest.mark.parametrize(
    ("csat", "good", "score"), [("good", True, None), ("Bad", False, None), ("neutral", None, None), ("5", True, 5)]
)
def test_the_feedback_rules_csat_is_a_rating(csat: str, good: bool | None, score: int | None) -> None:
    [event] = freshdesk.parse(rule("{customer_feedback:received}", csat=csat), {}).events
    assert (event.kind, event.rating_good, event.rating_score) == ("rated", good, score)
    assert event.occurred_at == datetime(2025, 1, 8, 16, 45, 20, tzinfo=UTC)  # updated_at, not the status time


def test_a_csat_that_is_no_rating_is_refused() -> None:
    with pytest.raises(PayloadError, match="'meh' is not good, neutral, bad or 1-5"):
        freshdesk.parse(rule("{customer_feedback:received}", csat="meh"), {})


def test_an_unquoted_triggered_event_is_repaired_and_reads_like_the_quoted_one() -> None:
    quoted = rule("{status:{from:2,to:5}}")
    unquoted = quoted.replace(b'"{status:{from:2,to:5}}"', b"{status:{from:2,to:5}}")
    assert unquoted != quoted
    assert freshdesk.parse(unquoted, {}) == freshdesk.parse(quoted, {})
    assert freshdesk.delivery_key(unquoted, {}) == freshdesk.delivery_key(quoted, {})


def test_quotes_inside_a_rendered_triggered_event_are_repaired_too() -> None:
    raw = rule('{cf_reason:{from:"late",to:"early"}}')
    assert "cf_reason" in freshdesk.parse(raw, {}).ignored


def test_another_unquoted_placeholder_is_refused_with_the_fix_named() -> None:
    raw = rule().replace(b'"Ana.Agent@Example.com"', b"Ana.Agent@Example.com")
    with pytest.raises(PayloadError, match="quote every placeholder"):
        freshdesk.parse(raw, {})


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        ("2025-01-08T16:45:19Z", datetime(2025, 1, 8, 16, 45, 19, tzinfo=UTC)),
        ("2025-01-08 22:15:19 +0530", datetime(2025, 1, 8, 22, 15, 19, tzinfo=timezone(timedelta(hours=5.5)))),
        ("Wed, 08 Jan 2025 16:45:19 +0000", datetime(2025, 1, 8, 16, 45, 19, tzinfo=UTC)),
        ("2025-01-08 16:45:19", datetime(2025, 1, 8, 16, 45, 19, tzinfo=UTC)),
    ],
)
def test_the_time_formats_freshdesk_may_print_are_read(rendered: str, expected: datetime) -> None:
    [event] = freshdesk.parse(rule(ticket__status_changed_on=rendered), {}).events
    assert event.occurred_at == expected and event.occurred_at.tzinfo is UTC


def test_a_retry_is_one_event_and_a_second_solve_later_is_another() -> None:
    first = freshdesk.parse(rule(), {}).events[0].event_key
    retry = freshdesk.parse(rule().replace(b"\n", b"\n  "), {}).events[0].event_key
    later = freshdesk.parse(rule(ticket__status_changed_on="2025-02-01 09:00:00 UTC"), {}).events[0].event_key
    assert first == retry != later


def test_without_body_times_a_retry_arriving_later_is_still_the_same_event() -> None:
    raw = fixture_bytes(STATUS_CHANGED)
    first = freshdesk.parse(raw, {"date": "Wed, 08 Jan 2025 16:50:00 GMT"}).events[0]
    retry = freshdesk.parse(raw, {"date": "Wed, 08 Jan 2025 16:55:00 GMT"}).events[0]  # Freshdesk retries at +5 min
    assert first.event_key == retry.event_key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"ticket 11 resolved", "not JSON"),
        (b'["11"]', "JSON object"),
        (b'{"freshdesk_webhook": "11"}', "JSON object"),
        (b'{"freshdesk_webhook": {"ticket_status": "Resolved"}}', "without ticket_id"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_bodies_that_are_not_the_template_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        freshdesk.parse(raw, {})


def test_the_delivery_key_is_the_same_for_the_same_content_in_other_whitespace() -> None:
    raw = fixture_bytes(STATUS_CHANGED)
    assert freshdesk.delivery_key(raw, {}) == freshdesk.delivery_key(b" ".join(raw.split()), {})
    assert freshdesk.delivery_key(raw, {}) != freshdesk.delivery_key(rule(), {})


def test_the_setup_guide_shows_the_body_this_module_reads() -> None:
    assert freshdesk.AUTOMATION_BODY in DOCS.read_text(encoding="utf-8")


@given(st.binary(max_size=300) | json_values.map(body) | cut_bytes(rule()) | cut_bytes(rule(csat="good")))
def test_parse_and_delivery_key_take_any_bytes(raw: bytes) -> None:
    parse_only_succeeds_or_refuses(freshdesk.parse, raw, RECEIVED)
    assert freshdesk.delivery_key(raw, {})


@given(mutated(fixture(STATUS_CHANGED)), st.sampled_from([{}, RECEIVED, {"date": "garbage"}]))
def test_parse_takes_any_damaged_payload(doc: object, headers: dict[str, str]) -> None:
    parse_only_succeeds_or_refuses(freshdesk.parse, body(doc), headers)


@given(st.text(max_size=40))
def test_parse_takes_any_rendering_of_triggered_event(triggered_event: str) -> None:
    parse_only_succeeds_or_refuses(freshdesk.parse, rule(triggered_event), {})
