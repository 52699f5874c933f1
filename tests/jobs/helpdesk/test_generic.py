from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from jobs.helpdesk import generic
from jobs.helpdesk.events import KINDS, OutcomeEvent, ParsedPayload, PayloadError
from tests.jobs.helpdesk import body, json_values, mutated, parse_only_succeeds_or_refuses

DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks"
SCHEMA = json.loads((DOCS / "generic.schema.json").read_text(encoding="utf-8"))
EXAMPLES = sorted((DOCS / "examples").glob("*.json"))
VALIDATOR = Draft202012Validator(SCHEMA)
TOKEN = "wh-3b0f6c1d9e2a"
SOLVED = {"event_id": "e-1", "type": "solved", "ticket_id": "88412", "occurred_at": "2026-03-02T14:05:00Z"}


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_bearer_token_is_required_and_compared_whole() -> None:
    assert generic.verify(b"{}", {"authorization": f"Bearer {TOKEN}"}, TOKEN, 0.0)
    assert generic.verify(b"{}", {"authorization": f"bearer  {TOKEN} "}, TOKEN, 0.0)
    for wrong in ("", TOKEN, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer "):
        assert not generic.verify(b"{}", {"authorization": wrong}, TOKEN, 0.0)
    assert not generic.verify(b"{}", {}, TOKEN, 0.0)
    assert not generic.verify(b"{}", {"authorization": "Bearer "}, "", 0.0)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_every_documented_example_is_valid_against_the_schema_and_parses(example: Path) -> None:
    doc = json.loads(example.read_text(encoding="utf-8"))
    assert list(VALIDATOR.iter_errors(doc)) == []
    result = generic.parse(example.read_bytes(), {})
    assert len(result.events) == len(doc.get("events", [doc]))


def test_there_are_examples_of_a_single_event_and_of_a_batch() -> None:
    docs = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES]
    assert any("events" in doc for doc in docs) and any("event_id" in doc for doc in docs)


def test_the_solved_example_carries_every_field_into_the_event() -> None:
    result = generic.parse((DOCS / "examples" / "solved.json").read_bytes(), {})
    assert result == ParsedPayload(
        events=(
            OutcomeEvent(
                event_key="acme-desk-88412-solved-1",
                kind="solved",
                ticket_id="88412",
                occurred_at=datetime(2026, 3, 2, 14, 5, tzinfo=UTC),
                agent_email="dana.reyes@example.com",
                agent_id="u-4711",
                group="Tier 1",
                ticket_created_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
                first_response_seconds=1260,
                resolution_seconds=102300,
            ),
        ),
        agent_ids=(("u-4711", "dana.reyes@example.com"),),
    )


@pytest.mark.parametrize(
    ("rating", "good", "score"), [("good", True, None), ("bad", False, None), (5, True, 5), (3, None, 3), (1, False, 1)]
)
def test_a_rating_is_good_bad_or_a_score_read_like_every_other_1_to_5_scale(
    rating: Any, good: bool | None, score: int | None
) -> None:
    [event] = generic.parse(body({**SOLVED, "type": "rated", "rating": rating}), {}).events
    assert (event.rating_good, event.rating_score) == (good, score)


INVALID = [
    ({**SOLVED, "type": "closed"}, "type is one of solved, reopened, rated, replied"),
    ({k: v for k, v in SOLVED.items() if k != "ticket_id"}, "ticket_id is required"),
    ({**SOLVED, "occurred_at": "2026-03-02 14:05"}, "occurred_at is an RFC 3339 date-time"),
    ({**SOLVED, "occurred_at": "2026-03-02T14:05:00"}, "occurred_at is an RFC 3339 date-time with an offset"),
    ({**SOLVED, "occurred_at": 1767600000}, "occurred_at is an RFC 3339"),
    ({**SOLVED, "type": "rated"}, "a rated event needs a rating"),
    ({**SOLVED, "rating": "good"}, "rating is only for rated events"),
    ({**SOLVED, "type": "rated", "rating": 6}, "rating is good, bad, or a whole number from 1 to 5"),
    ({**SOLVED, "type": "rated", "rating": "great"}, "rating is good, bad"),
    ({**SOLVED, "agent_email": "dana at example.com"}, "agent_email is not an email address"),
    ({**SOLVED, "first_response_seconds": -1}, "first_response_seconds is a whole number of seconds"),
    ({**SOLVED, "resolution_seconds": "3600"}, "resolution_seconds is a whole number"),
    ({**SOLVED, "ticket_id": ""}, "ticket_id is a string or a whole number"),
    ({**SOLVED, "event_id": 17}, "event_id is a string"),
    ({**SOLVED, "group": "g" * 256}, "group has more than 255 characters"),
    ({**SOLVED, "agent": "dana"}, "unknown field 'agent'"),
    ({"events": []}, "events is a list of 1 to 100 events"),
    ({"events": [SOLVED] * 101}, "events is a list of 1 to 100 events"),
    ({"events": [SOLVED], "source": "crm"}, "a batch has only an events list, not 'source'"),
    ({"events": [SOLVED, {**SOLVED, "type": "nope"}]}, r"events\[1\]: type is one of"),
    ({"events": ["e-1"]}, r"events\[0\] is not a JSON object"),
    ([SOLVED], "expected a JSON object"),
]


@pytest.mark.parametrize(("doc", "reason"), INVALID, ids=[reason for _, reason in INVALID])
def test_payloads_breaking_the_schema_are_refused_by_it_and_by_parse_with_a_clear_reason(doc: Any, reason: str) -> None:
    assert not VALIDATOR.is_valid(doc)
    with pytest.raises(PayloadError, match=reason):
        generic.parse(body(doc), {})


def test_a_batch_of_100_events_is_taken_and_an_event_id_twice_in_one_batch_is_not() -> None:
    batch = {"events": [{**SOLVED, "event_id": f"e-{i}"} for i in range(100)]}
    assert VALIDATOR.is_valid(batch) and len(generic.parse(body(batch), {}).events) == 100
    with pytest.raises(PayloadError, match=r"events\[2\]: event_id 'e-1' appears twice"):
        generic.parse(body({"events": [SOLVED, {**SOLVED, "event_id": "e-1b"}, SOLVED]}), {})


def test_a_calendar_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(PayloadError, match="occurred_at"):
        generic.parse(body({**SOLVED, "occurred_at": "2026-02-30T10:00:00Z"}), {})


def test_not_json_is_refused() -> None:
    with pytest.raises(PayloadError, match="not JSON"):
        generic.parse(b"type=solved", {})


def test_the_delivery_key_is_the_event_id_and_for_a_batch_its_content() -> None:
    assert generic.delivery_key(body(SOLVED), {}) == "e-1"
    batch = body({"events": [SOLVED]})
    assert generic.delivery_key(batch, {}) == generic.delivery_key(
        json.dumps({"events": [SOLVED]}, indent=4).encode(), {}
    )
    assert len(generic.delivery_key(batch, {})) == 64


# Values near the schema's edges, valid and not; calendar-impossible dates are left out (the schema's
# date-time format is an annotation, parse checks the calendar: see the test above).
FIELD_VALUES: dict[str, list[Any]] = {
    "event_id": ["e-1", " e-2 ", "", "   ", "x" * 128, "x" * 129, 5, None],
    "type": [*KINDS, "closed", None, 1],
    "ticket_id": ["88412", 88412, 0, -3, "", " ", "t" * 64, "t" * 65, None, True, 5.0, 5.5, [1]],
    "occurred_at": [
        "2026-03-02T14:05:00Z",
        "2026-03-02T14:05:00.1+01:00",
        "2026-03-02T14:05:00.123456789-05:30",
        "2026-03-02T14:05:00Z\n",
        " 2026-03-02T14:05:00Z",
        "2026-03-02T14:05Z",
        "2026-03-02 14:05:00Z",
        "2026-03-02T14:05:00",
        "2026-03-02T14:05:00z",
        1767600000,
        None,
    ],
    "agent_email": ["a@b.co", "A@B.CO", " a@b.co", "a@b.co\n", "ab.co", "a@b@c", "", None, 5, "x" * 250 + "@b.co"],
    "agent_id": ["u1", 31337, None, "", " ", "i" * 65, 1.5, False],
    "group": ["Tier 1", None, "", "  ", "g" * 255, "g" * 256, 3],
    "rating": ["good", "bad", "Good", 0, 1, 5, 6, 4.0, 2.5, None, True],
    "ticket_created_at": ["2026-03-01T09:30:00Z", "2026-03-01", None, 0],
    "first_response_seconds": [0, 60, -1, 315360000, 315360001, 1.0, 1.5, None, "60", True],
    "resolution_seconds": [0, 7200, -5, None, 2.0],
    "extra": [1],
}
COMPLETE = {
    **SOLVED,
    "agent_email": "a@b.co",
    "agent_id": "u1",
    "group": "Tier 1",
    "ticket_created_at": "2026-03-01T09:30:00Z",
    "first_response_seconds": 60,
    "resolution_seconds": 7200,
}
DROPPED = object()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event (minimal or complete) with up to three fields changed to edge values or dropped."""
    doc = dict(draw(st.sampled_from([SOLVED, COMPLETE])))
    for name in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True)):
        value = draw(st.sampled_from([*FIELD_VALUES[name], DROPPED]))
        if value is DROPPED:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


@given(events())
def test_parse_accepts_exactly_the_events_the_schema_accepts(doc: dict[str, Any]) -> None:
    try:
        generic.parse(body(doc), {})
    except PayloadError as error:
        assert not VALIDATOR.is_valid(doc), f"parse refused a schema-valid event: {error}"
    else:
        assert VALIDATOR.is_valid(doc), f"parse took an event the schema refuses: {VALIDATOR.iter_errors(doc)}"


@given(
    st.binary(max_size=300)
    | json_values.map(body)
    | mutated({"events": [SOLVED, {**SOLVED, "event_id": "e-2"}]}).map(body)
)
def test_parse_and_delivery_key_take_any_bytes(raw: bytes) -> None:
    parse_only_succeeds_or_refuses(generic.parse, raw, {})
    assert generic.delivery_key(raw, {})
