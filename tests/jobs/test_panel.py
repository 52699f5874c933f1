"""The team-week panel from hand-made aggregates: every formula of docs/panel.md, and gaps as NaN."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.panel import DRIVER_COLUMNS, PANEL_COLUMNS, build_panel

W1, W2 = date(2026, 11, 9), date(2026, 11, 16)


@dataclass
class Inputs:
    teams: pd.DataFrame
    rounds: pd.DataFrame
    answers: pd.DataFrame
    comments: pd.DataFrame
    outcomes: pd.DataFrame


def inputs(**frames: list[dict[str, object]]) -> Inputs:
    columns = {
        "teams": ["team_id", "name", "k"],
        "rounds": ["round_id", "team_id", "week", "k", "asked", "respondents"],
        "answers": ["round_id", "question_key", "driver", "scale", "n", "total", "total_sq", "promoters", "detractors"],
        "comments": ["round_id", "comments", "polarity_sum"],
        "outcomes": [
            "team_id",
            "week",
            "solved",
            "reopened",
            "rated",
            "satisfied",
            "agents",
            "first_response_median",
            "resolution_median",
        ],
    }
    built = {name: pd.DataFrame(frames.get(name, []), columns=cols) for name, cols in columns.items()}
    for name in ("rounds", "outcomes"):
        built[name]["week"] = pd.to_datetime(built[name]["week"])
    return Inputs(**built)


def agreement(round_id: int, key: str, values: list[int]) -> dict[str, object]:
    driver = key.split(".")[0]
    return {
        "round_id": round_id,
        "question_key": key,
        "driver": driver,
        "scale": "agreement",
        "n": len(values),
        "total": sum(values),
        "total_sq": sum(v * v for v in values),
        "promoters": 0,
        "detractors": 0,
    }


def enps(round_id: int, values: list[int]) -> dict[str, object]:
    return {
        "round_id": round_id,
        "question_key": "enps",
        "driver": "enps",
        "scale": "enps",
        "n": len(values),
        "total": sum(values),
        "total_sq": sum(v * v for v in values),
        "promoters": sum(v >= 9 for v in values),
        "detractors": sum(v <= 6 for v in values),
    }


def row(panel: pd.DataFrame, team_id: int, week: date) -> pd.Series:
    return panel[(panel["team_id"] == team_id) & (panel["week"] == pd.Timestamp(week))].iloc[0]


TEAMS = [{"team_id": 1, "name": "Support", "k": 5}, {"team_id": 2, "name": "Sales", "k": 3}]


def test_it_has_a_row_for_every_team_and_week_even_without_data() -> None:
    result = build_panel(inputs(teams=TEAMS), [W1, W2])
    assert list(result.panel.columns) == PANEL_COLUMNS
    assert list(result.drivers.columns) == DRIVER_COLUMNS
    assert len(result.panel) == 4
    assert result.panel["engagement"].isna().all()
    assert result.panel["csat"].isna().all()
    assert result.panel["k"].tolist() == [5, 5, 3, 3]


def test_driver_means_participation_and_the_engagement_index() -> None:
    data = inputs(
        teams=TEAMS,
        rounds=[{"round_id": 10, "team_id": 1, "week": W2, "k": 5, "asked": 8, "respondents": 6}],
        answers=[
            agreement(10, "workload.pace", [1, 2, 2, 3, 2]),
            agreement(10, "workload.focus", [3, 3, 3, 3, 3, 3]),
            agreement(10, "growth.path", [5, 5, 4, 4, 4, 5]),
        ],
    )
    result = build_panel(data, [W1, W2])
    week = row(result.panel, 1, W2)
    assert week["participation"] == pytest.approx(6 / 8)
    workload = result.drivers[result.drivers["driver"] == "workload"].iloc[0]
    assert workload["mean"] == pytest.approx(28 / 11)
    assert workload["n"] == 6  # the most-answered question: a lower bound on distinct people
    # Each driver counts once: (28/11 + 27/6) / 2 on the 1-5 scale, then 0-100.
    assert week["engagement"] == pytest.approx(((28 / 11 + 27 / 6) / 2 - 1) / 4 * 100)
    assert week["engagement_n"] == 6
    assert pd.isna(row(result.panel, 1, W1)["engagement"])


def test_drivers_below_the_threshold_never_enter_the_engagement_index() -> None:
    data = inputs(
        teams=TEAMS,
        rounds=[{"round_id": 10, "team_id": 1, "week": W2, "k": 5, "asked": 8, "respondents": 6}],
        answers=[agreement(10, "workload.pace", [1, 1, 1, 1]), agreement(10, "growth.path", [5, 5, 5, 5, 5])],
    )
    week = row(build_panel(data, [W2]).panel, 1, W2)
    assert week["engagement"] == pytest.approx(100.0)
    assert week["engagement_n"] == 5


def test_enps_is_promoters_minus_detractors_in_percent() -> None:
    data = inputs(
        teams=TEAMS,
        rounds=[{"round_id": 10, "team_id": 2, "week": W1, "k": 3, "asked": 5, "respondents": 5}],
        answers=[enps(10, [10, 9, 8, 6, 0])],
    )
    week = row(build_panel(data, [W1]).panel, 2, W1)
    assert week["enps"] == pytest.approx(100 * (2 - 2) / 5)
    assert week["enps_n"] == 5
    assert pd.isna(week["engagement"])  # eNPS is not a driver


def test_customer_outcomes_rates_and_medians() -> None:
    outcome = {"team_id": 1, "week": W1, "solved": 40, "reopened": 4, "rated": 10, "satisfied": 8, "agents": 4}
    data = inputs(teams=TEAMS, outcomes=[{**outcome, "first_response_median": 120.0, "resolution_median": 5400.0}])
    week = row(build_panel(data, [W1, W2]).panel, 1, W1)
    assert week["csat"] == pytest.approx(80.0)
    assert week["reopen_rate"] == pytest.approx(0.1)
    assert week["tickets_per_agent"] == pytest.approx(10.0)
    assert (week["first_response_median"], week["resolution_median"]) == (120.0, 5400.0)
    assert pd.isna(row(build_panel(data, [W1, W2]).panel, 2, W1)["csat"])


def test_comments_count_and_mean_sentiment() -> None:
    data = inputs(
        teams=TEAMS,
        rounds=[{"round_id": 10, "team_id": 1, "week": W1, "k": 5, "asked": 9, "respondents": 7}],
        comments=[{"round_id": 10, "comments": 4, "polarity_sum": -1.0}],
    )
    week = row(build_panel(data, [W1]).panel, 1, W1)
    assert (week["comments"], week["sentiment"]) == (4, pytest.approx(-0.25))


def test_imported_rounds_have_respondents_but_no_participation_rate() -> None:
    data = inputs(
        teams=TEAMS, rounds=[{"round_id": 10, "team_id": 1, "week": W1, "k": 5, "asked": None, "respondents": 12}]
    )
    week = row(build_panel(data, [W1]).panel, 1, W1)
    assert week["respondents"] == 12
    assert pd.isna(week["participation"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=12), min_size=1, max_size=6))
def test_the_engagement_index_stays_between_0_and_100_and_is_missing_only_without_shown_drivers(
    drivers: list[list[int]],
) -> None:
    keys = ["workload", "wellbeing", "growth", "autonomy", "alignment", "recognition"]
    data = inputs(
        teams=TEAMS,
        rounds=[{"round_id": 1, "team_id": 1, "week": W1, "k": 5, "asked": 20, "respondents": 12}],
        answers=[agreement(1, f"{keys[i]}.q", values) for i, values in enumerate(drivers)],
    )
    week = row(build_panel(data, [W1]).panel, 1, W1)
    if any(len(values) >= 5 for values in drivers):
        assert 0 <= week["engagement"] <= 100
    else:
        assert pd.isna(week["engagement"])


def test_the_engagement_index_keeps_each_rotated_driver_for_four_weeks() -> None:
    weeks = [W1 + timedelta(weeks=i) for i in range(6)]
    data = inputs(
        teams=TEAMS,
        rounds=[
            {"round_id": 1, "team_id": 1, "week": weeks[0], "k": 5, "asked": 9, "respondents": 8},
            {"round_id": 2, "team_id": 1, "week": weeks[1], "k": 5, "asked": 9, "respondents": 7},
            {"round_id": 3, "team_id": 1, "week": weeks[4], "k": 5, "asked": 9, "respondents": 6},
        ],
        answers=[
            agreement(1, "workload.pace", [2] * 6),
            agreement(1, "growth.path", [4] * 8),
            agreement(2, "recognition.noticed", [4] * 7),
            agreement(3, "autonomy.decide", [5] * 6),
        ],
    )
    panel = build_panel(data, weeks).panel
    second = row(panel, 1, weeks[1])
    assert second["engagement"] == pytest.approx(((2 + 4 + 4) / 3 - 1) / 4 * 100)
    assert second["engagement_n"] == 6
    assert pd.isna(row(panel, 1, weeks[2])["engagement"])  # no round that week: no index of its own
    fifth = row(panel, 1, weeks[4])  # week 1's drivers are 4 weeks old now and drop out
    assert fifth["engagement"] == pytest.approx(((4 + 5) / 2 - 1) / 4 * 100)
