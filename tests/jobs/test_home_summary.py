"""jobs.home_summary: the managers' part of the App Home, through the anonymity engine (no database)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.anonymity import publish_panel
from jobs.home_summary import manager_summaries
from jobs.panel import build_panel
from tests.test_layering import FORBIDDEN_IN_PURE, imported_modules

MONDAY = date(2026, 11, 23)
MEDIANS = ["first_response_median", "resolution_median"]
ANSWER_COLUMNS = ["round_id", "question_key", "driver", "scale", "n", "total", "total_sq", "promoters", "detractors"]


def teams(*rows: tuple[int, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["team_id", "name", "k"])


def rounds(*rows: tuple[int, int, date, int, int | None, int]) -> pd.DataFrame:
    """(round, team, opened on, k, asked, respondents)."""
    frame = pd.DataFrame(rows, columns=["round_id", "team_id", "opened_on", "k", "asked", "respondents"])
    frame["week"] = pd.to_datetime([d - timedelta(days=d.weekday()) for d in frame["opened_on"]])
    return frame


def answers(*rows: tuple[int, str, str, int, float]) -> pd.DataFrame:
    """(round, question, driver, n, mean) on the 1-5 scale, or eNPS as (round, q, "enps", n, share of promoters)."""
    records = []
    for round_id, key, driver, n, value in rows:
        if driver == "enps":
            promoters = round(n * value)
            records.append((round_id, key, driver, "enps", n, 8.0 * n, 64.0 * n, promoters, 0))  # the rest passive
        else:
            records.append((round_id, key, driver, "agreement", n, value * n, value * value * n, 0, 0))
    return pd.DataFrame(records, columns=ANSWER_COLUMNS)


def test_it_shows_a_driver_that_k_people_answered_and_marks_one_with_fewer_hidden() -> None:
    (summary,) = manager_summaries(
        teams((1, "Support", 5)),
        rounds((10, 1, MONDAY, 5, 8, 6)),
        answers((10, "w1", "workload", 6, 4.0), (10, "g1", "growth", 3, 2.0), (10, "e", "enps", 6, 0.5)),
    )
    assert summary.shown and (summary.threshold, summary.asked, summary.answered) == (5, 8, 6)
    cells = {d.driver: d for d in summary.drivers}
    assert set(cells) == {"workload", "growth"} and summary.enps == 50
    assert cells["workload"].average == 4.0 and cells["workload"].answers == 6
    assert cells["growth"].hidden and cells["growth"].average is None and cells["growth"].answers == 3


def test_it_counts_the_people_behind_a_driver_not_its_answers() -> None:
    # Two questions of one driver, each answered by the same three people: three people, not six answers.
    (summary,) = manager_summaries(
        teams((1, "Support", 5)),
        rounds((10, 1, MONDAY, 5, 8, 6)),
        answers((10, "w1", "workload", 3, 4.0), (10, "w2", "workload", 3, 4.0)),
    )
    (cell,) = summary.drivers
    assert cell.answers == 3 and cell.hidden


def test_it_hides_every_score_of_a_week_that_fewer_than_k_answered() -> None:
    (summary,) = manager_summaries(
        teams((1, "Support", 5)), rounds((10, 1, MONDAY, 5, 8, 4)), answers((10, "w1", "workload", 4, 4.0))
    )
    assert not summary.shown and summary.drivers == () and summary.enps is None


def test_it_keeps_the_teams_order_and_says_which_have_no_closed_round() -> None:
    summaries = manager_summaries(
        teams((2, "Billing", 5), (1, "Support", 3)),
        rounds((10, 1, MONDAY, 3, 4, 3)),
        answers((10, "w1", "workload", 3, 5.0)),
    )
    assert [(s.team, s.opened_on) for s in summaries] == [("Billing", None), ("Support", MONDAY)]
    assert summaries[1].drivers[0].average == 5.0


def test_it_imports_no_slack_database_or_web_code() -> None:
    modules = imported_modules(Path(__file__).resolve().parents[2] / "jobs" / "home_summary.py")
    assert not {m for m in modules for f in FORBIDDEN_IN_PURE if m == f or m.startswith(f + ".")}


# -- the same cells as the digest's panel -------------------------------------------------------------------


def reference_summaries(team_frame: pd.DataFrame, round_frame: pd.DataFrame, answer_frame: pd.DataFrame) -> list:
    """What the digest shows for each team's latest week: jobs.panel.build_panel + anonymity.publish_panel."""
    if round_frame.empty:
        return [(name, None) for name in team_frame["name"]]
    round_frame = round_frame.astype({"round_id": "int64", "team_id": "int64", "week": "datetime64[ns]"})
    empty_comments = pd.DataFrame({"round_id": [], "comments": [], "polarity_sum": []}).astype({"round_id": "int64"})
    outcome_columns = ["solved", "reopened", "rated", "satisfied", "agents", *MEDIANS]
    empty_outcomes = pd.DataFrame({"team_id": pd.Series(dtype="int64"), "week": pd.Series(dtype="datetime64[ns]")})
    for column in outcome_columns:
        empty_outcomes[column] = pd.Series(dtype="float64")
    numbers = {c: "float64" for c in ("n", "total", "total_sq", "promoters", "detractors")}
    inputs = SimpleNamespace(
        teams=team_frame.astype({"team_id": "int64"}),
        rounds=round_frame,
        answers=answer_frame.astype({"round_id": "int64", **numbers}),
        comments=empty_comments,
        outcomes=empty_outcomes,
    )
    raw = build_panel(inputs, sorted({w.date() for w in round_frame["week"]}))
    panel, drivers = publish_panel(raw.panel, raw.drivers)
    found = []
    for team_id, name in zip(team_frame["team_id"], team_frame["name"], strict=True):
        mine = round_frame[round_frame["team_id"] == team_id]
        if mine.empty:
            found.append((name, None))
            continue
        week = mine["week"].max()
        row = panel[(panel["team_id"] == team_id) & (panel["week"] == week)].iloc[0]
        cells = drivers[(drivers["team_id"] == team_id) & (drivers["week"] == week) & (drivers["n"] > 0)]
        respondents = int(row["respondents"]) if row["respondents"] == row["respondents"] else 0
        shown = respondents >= int(row["k"])
        enps_n = row["enps_n"] if row["enps_n"] == row["enps_n"] else 0
        found.append(
            (
                name,
                int(row["k"]),
                respondents,
                shown,
                sorted((d.driver, int(d.n), None if d.mean_suppressed else d.mean) for d in cells.itertuples())
                if shown
                else [],
                (bool(row["enps_suppressed"]), None if row["enps_suppressed"] else round(row["enps"]))
                if shown and enps_n > 0
                else (False, None),
            )
        )
    return found


def as_compared(summaries: tuple) -> list:
    return [
        (s.team, None)
        if s.opened_on is None
        else (
            s.team,
            s.threshold,
            s.answered,
            s.shown,
            sorted((d.driver, d.answers, d.average) for d in s.drivers),
            (s.enps_hidden, s.enps),
        )
        for s in summaries
    ]


@st.composite
def managed_weeks(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    team_rows, round_rows, answer_rows = [], [], []
    for team_id in range(1, draw(st.integers(1, 3)) + 1):
        k = draw(st.integers(3, 6))
        team_rows.append((team_id, f"Team {team_id}", k))
        for _ in range(draw(st.integers(0, 2))):
            round_id = len(round_rows) + 1
            respondents = draw(st.integers(0, 10))
            asked = draw(st.none() | st.integers(respondents, 12))
            opened = MONDAY + timedelta(days=draw(st.integers(0, 4)))
            round_rows.append((round_id, team_id, opened, draw(st.sampled_from([k, k + 1])), asked, respondents))
            for number in range(draw(st.integers(0, 4))):
                driver = draw(st.sampled_from(["workload", "growth", "enps"]))
                n = draw(st.integers(0, 8))
                if driver == "enps":
                    promoters = draw(st.integers(0, n))
                    detractors = draw(st.integers(0, n - promoters))
                    row = (round_id, f"q{number}", driver, "enps", n, 7.0 * n, 49.0 * n, promoters, detractors)
                else:
                    total = float(draw(st.integers(n, 5 * n)))
                    row = (round_id, f"q{number}", driver, "agreement", n, total, total * 5, 0, 0)
                answer_rows.append(row)
    return teams(*team_rows), rounds(*round_rows), pd.DataFrame(answer_rows, columns=ANSWER_COLUMNS)


@settings(max_examples=60, deadline=None)
@given(managed_weeks())
def test_every_cell_equals_the_digests_cell_for_that_team_and_week(week: tuple) -> None:
    team_frame, round_frame, answer_frame = week
    fast = as_compared(manager_summaries(team_frame, round_frame, answer_frame))
    reference = reference_summaries(team_frame, round_frame, answer_frame)
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        assert len(mine) == len(theirs)
        if len(mine) == 2:  # a team with no closed round
            assert mine == theirs
        else:
            assert mine[:4] == theirs[:4] and mine[5] == theirs[5]
            assert [d[:2] for d in mine[4]] == [d[:2] for d in theirs[4]]
            for (_, _, average), (_, _, expected) in zip(mine[4], theirs[4], strict=True):
                assert (average is None) == (expected is None)
                assert average is None or math.isclose(average, expected)
