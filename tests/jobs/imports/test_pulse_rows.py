"""Pulse history rows -> per-round drafts -> what the privacy model lets an imported round keep."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.imports.csv_rows import HeaderError, RowError
from jobs.imports.pulse_rows import (
    PulseAnswer,
    QuestionRef,
    RoundGrouper,
    TeamRef,
    parse_pulse_row,
    pulse_header,
    question_index,
    respondent_hash,
    settle_round,
)

TODAY = date(2026, 11, 22)
KEY = b"k" * 32
SUPPORT = TeamRef(1, "Support", threshold=3)
TEAMS = {"support": SUPPORT}
MANAGEABLE = QuestionRef(10, "workload.manageable", "workload", "agreement")
PACE = QuestionRef(11, "workload.pace", "workload", "agreement")
ENPS = QuestionRef(12, "enps", "enps", "enps")
QUESTIONS = question_index([MANAGEABLE, PACE, ENPS])
HEADER = pulse_header(["team", "date", "question", "value", "respondent"])


def parse(**cells: str) -> PulseAnswer:
    """A row of Support's June 3 pulse (Ann answering workload.pace with 4) with `cells` changed."""
    row = {"team": "Support", "day": "2025-06-03", "question": "workload.pace", "value": "4"}
    row |= {"respondent": "ann@example.com"} | cells
    return parse_pulse_row(HEADER, list(row.values()), TEAMS, QUESTIONS, TODAY, KEY)


def answer(person: str, question: QuestionRef = PACE, value: int = 4, day: date = date(2025, 6, 3)) -> PulseAnswer:
    return PulseAnswer(SUPPORT, day, question, value, respondent_hash(KEY, person))


def test_a_row_names_its_team_in_any_capitals_and_its_question_by_key() -> None:
    parsed = parse(team="SUPPORT ", question="workload.pace", value="2")
    assert (parsed.team, parsed.day, parsed.question, parsed.value) == (SUPPORT, date(2025, 6, 3), PACE, 2)


def test_a_driver_key_means_the_drivers_first_question_and_enps_takes_0_to_10() -> None:
    assert parse(question="workload").question == MANAGEABLE
    assert parse(question="enps", value="0").value == 0
    assert parse(question="enps", value="10").value == 10


def test_the_respondent_is_kept_only_as_a_keyed_hash_that_ignores_capitals() -> None:
    parsed = parse(respondent="Ann@Example.com")
    assert parsed.respondent == respondent_hash(KEY, "ann@example.com")
    assert b"ann" not in parsed.respondent
    assert respondent_hash(b"another key" * 3, "ann@example.com") != parsed.respondent


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"team": "Nobody"}, "there is no team named 'Nobody'"),
        ({"team": ""}, "team is empty"),
        ({"day": "03/06/2025"}, "date '03/06/2025' is not a date"),
        ({"day": "2026-11-22"}, "date 2026-11-22 is not in the past"),
        ({"question": "workload.nope"}, "question 'workload.nope' is neither"),
        ({"value": "4.5"}, "value '4.5' is not a whole number"),
        ({"value": "6"}, "value 6 is outside 1-5 for workload.pace"),
        ({"question": "enps", "value": "11"}, "value 11 is outside 0-10 for enps"),
        ({"respondent": " "}, "respondent is empty"),
    ],
)
def test_a_row_with_a_wrong_cell_is_an_error_that_never_repeats_the_respondent(
    cells: dict[str, str], message: str
) -> None:
    with pytest.raises(RowError) as error:
        parse(**cells)
    assert str(error.value).startswith(message)
    assert "ann" not in str(error.value)


def test_every_column_is_required() -> None:
    with pytest.raises(HeaderError, match="lacks the required column"):
        pulse_header(["team", "date", "question", "value"])


def test_answers_are_grouped_per_team_and_date_and_drafts_come_in_date_order() -> None:
    grouper = RoundGrouper()
    grouper.add(2, answer("ann", day=date(2025, 6, 10)))
    grouper.add(3, answer("ann", day=date(2025, 6, 3)))
    grouper.add(4, answer("bob", day=date(2025, 6, 3)))
    drafts = list(grouper.drafts())
    assert [(d.day.day, d.respondents) for d in drafts] == [(3, 2), (10, 1)]


def test_the_same_person_answering_a_question_twice_in_a_round_is_an_error_naming_the_first_line() -> None:
    grouper = RoundGrouper()
    grouper.add(2, answer("ann"))
    grouper.add(3, answer("ann", question=MANAGEABLE))
    with pytest.raises(RowError, match=r"already answered workload.pace for that team and date \(line 2\)"):
        grouper.add(7, answer("ANN", value=1))


def test_a_round_keeps_the_questions_k_people_answered_and_drops_the_others() -> None:
    grouper = RoundGrouper()
    for line, person in enumerate(["ann", "bob", "cy"], start=2):
        grouper.add(line, answer(person, PACE, value=line))
    grouper.add(9, answer("ann", MANAGEABLE, value=1))
    grouper.add(10, answer("bob", MANAGEABLE, value=2))
    settled = settle_round(next(grouper.drafts()), k=3)
    assert settled.skipped == ""
    assert settled.respondents == 3
    assert sorted(settled.answers) == [(PACE.id, 2), (PACE.id, 3), (PACE.id, 4)]
    assert (settled.dropped_answers, settled.dropped_questions) == (2, ("workload.manageable",))


def test_a_round_with_fewer_than_k_people_is_skipped_with_the_reason() -> None:
    grouper = RoundGrouper()
    grouper.add(2, answer("ann"))
    grouper.add(3, answer("bob"))
    settled = settle_round(next(grouper.drafts()), k=3)
    assert settled.answers == ()
    assert settled.skipped == "only 2 people answered, fewer than 3"


def test_a_round_where_no_single_question_reached_k_people_is_skipped_too() -> None:
    grouper = RoundGrouper()
    grouper.add(2, answer("ann", PACE))
    grouper.add(3, answer("bob", MANAGEABLE))
    grouper.add(4, answer("cy", ENPS, value=9))
    settled = settle_round(next(grouper.drafts()), k=3)
    assert settled.respondents == 3
    assert settled.skipped == "no question was answered by at least 3 people"
