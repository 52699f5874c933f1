from __future__ import annotations

import ast
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobs.anonymity
from jobs.anonymity import (
    LEDGER,
    MIN_COMMENT_RESPONDENTS,
    MIN_CX_AGENTS,
    NOT_ENOUGH,
    ORG_TOTAL,
    SUPPRESSIBLE_CX,
    SUPPRESSIBLE_EX,
    comments_visible,
    publish_panel,
    rollup,
    suppression_note,
)

WEEK = pd.Timestamp("2026-11-16")
NEXT_WEEK = pd.Timestamp("2026-11-23")


def team(team_id: int, answered: int, *, k: int = 5, week: pd.Timestamp = WEEK, **overrides: Any) -> dict[str, Any]:
    """A team-week where `answered` people answered everything, with a full set of CX numbers."""
    row = {
        "team_id": team_id,
        "week": week,
        "k": k,
        "asked": answered + 2,
        "respondents": answered,
        "participation": answered / (answered + 2),
        "engagement": 70.0 if answered else np.nan,
        "engagement_n": answered,
        "enps": 20.0 if answered else np.nan,
        "enps_n": answered,
        "comments": 3 if answered else 0,
        "sentiment": 0.2 if answered else np.nan,
        "solved": 40,
        "reopened": 2,
        "rated": 10,
        "csat": 90.0,
        "reopen_rate": 0.05,
        "first_response_median": 600.0,
        "resolution_median": 7200.0,
        "agents": 4,
        "tickets_per_agent": 10.0,
    }
    return row | overrides


def panel_of(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def drivers_of(*rows: tuple[int, str, int, float], week: pd.Timestamp = WEEK) -> pd.DataFrame:
    """Driver rows (team_id, driver, n, mean)."""
    frame = pd.DataFrame(rows, columns=["team_id", "driver", "n", "mean"], dtype=object)
    frame = frame.astype({"team_id": int, "driver": str, "n": int, "mean": float})
    return frame.assign(week=week, sd=0.8)[["team_id", "week", "driver", "n", "mean", "sd"]]


NO_DRIVERS = drivers_of()


def one(frame: pd.DataFrame, **where: Any) -> pd.Series:
    mask = np.logical_and.reduce([frame[column] == value for column, value in where.items()])
    rows = frame[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# Team cells


def test_it_hides_scores_of_a_team_below_its_threshold() -> None:
    published, _ = publish_panel(panel_of(team(1, 4, k=5)), NO_DRIVERS)
    row = published.iloc[0]
    assert np.isnan(row["engagement"]) and np.isnan(row["enps"])
    assert row["engagement_suppressed"] and row["enps_suppressed"]


def test_it_shows_scores_of_a_team_that_reaches_its_threshold_exactly() -> None:
    published, _ = publish_panel(panel_of(team(1, 5, k=5)), NO_DRIVERS)
    row = published.iloc[0]
    assert (row["engagement"], row["enps"]) == (70.0, 20.0)
    assert not row["engagement_suppressed"] and not row["enps_suppressed"]


def test_each_score_needs_its_own_k_answers_and_each_row_its_own_k() -> None:
    panel = panel_of(team(1, 6, enps_n=4), team(2, 6, k=3, enps_n=4))
    published, _ = publish_panel(panel, NO_DRIVERS)
    assert published["engagement"].tolist() == [70.0, 70.0]
    assert published["enps_suppressed"].tolist() == [True, False]


def test_it_always_publishes_the_participation_ledger_and_the_counts() -> None:
    panel = panel_of(team(1, 2), team(2, 0))
    published, _ = publish_panel(panel, NO_DRIVERS)
    counts = [*LEDGER, "engagement_n", "enps_n", "agents"]
    pd.testing.assert_frame_equal(published[counts], panel[counts])


def test_it_keeps_every_row_and_flags_every_suppressible_column() -> None:
    panel = panel_of(team(1, 2), team(2, 9), team(3, 0))
    published, _ = publish_panel(panel, NO_DRIVERS)
    assert published["team_id"].tolist() == [1, 2, 3]
    for column in (*SUPPRESSIBLE_EX, *SUPPRESSIBLE_CX):
        assert published[f"{column}_suppressed"].dtype == bool


def test_it_does_not_change_its_inputs() -> None:
    panel, drivers = panel_of(team(1, 2)), drivers_of((1, "workload", 2, 3.0))
    before = (panel.copy(), drivers.copy())
    publish_panel(panel, drivers)
    rollup(panel, drivers)
    pd.testing.assert_frame_equal(panel, before[0])
    pd.testing.assert_frame_equal(drivers, before[1])


def test_it_hides_a_driver_below_the_threshold_and_the_engagement_that_would_give_it_away() -> None:
    # engagement_n says 6, but a driver row has only 4: the engine trusts the smaller number.
    panel = panel_of(team(1, 6))
    drivers = drivers_of((1, "workload", 4, 2.0), (1, "growth", 6, 4.0))
    published, published_drivers = publish_panel(panel, drivers)
    assert published_drivers["mean_suppressed"].tolist() == [True, False]
    assert published_drivers["sd_suppressed"].tolist() == [True, False]
    assert published_drivers["mean"].isna().tolist() == [True, False]
    assert published_drivers["n"].tolist() == [4, 6]
    assert published.iloc[0]["engagement_suppressed"]


def test_it_shows_comments_only_from_five_respondents_even_when_k_is_three() -> None:
    published, _ = publish_panel(panel_of(team(1, 4, k=3), team(2, 5, k=3)), NO_DRIVERS)
    assert published["enps_suppressed"].tolist() == [False, False]
    assert published["comments_suppressed"].tolist() == [True, False]
    assert published["sentiment"].isna().tolist() == [True, False]
    assert not comments_visible(4, 3) and comments_visible(5, 3)


def test_comments_need_k_respondents_when_k_is_above_five() -> None:
    assert MIN_COMMENT_RESPONDENTS == 5
    assert not comments_visible(7, 8) and comments_visible(8, 8)


def test_a_hidden_sentiment_does_not_tell_whether_anyone_commented() -> None:
    panel = panel_of(team(1, 3, comments=0, sentiment=np.nan), team(2, 3, comments=2, sentiment=0.5))
    published, _ = publish_panel(panel, NO_DRIVERS)
    assert published["sentiment_suppressed"].tolist() == [True, True]
    assert published["comments"].isna().all()


def test_cx_is_hidden_when_fewer_than_three_agents_are_credited() -> None:
    assert MIN_CX_AGENTS == 3
    published, _ = publish_panel(panel_of(team(1, 9, agents=2), team(2, 9, agents=3)), NO_DRIVERS)
    for column in SUPPRESSIBLE_CX:
        assert published[f"{column}_suppressed"].tolist() == [True, False]
        assert published[column].isna().tolist() == [True, False]
    assert published["agents"].tolist() == [2, 3]


def test_missing_data_is_not_reported_as_hidden() -> None:
    cx = dict.fromkeys(("agents", *SUPPRESSIBLE_CX), np.nan)
    published, _ = publish_panel(panel_of(team(1, 0, asked=0, participation=np.nan, **cx)), NO_DRIVERS)
    flags = published.filter(like="_suppressed").iloc[0]
    assert not flags.any()


def test_a_missing_threshold_or_count_hides_the_scores() -> None:
    panel = panel_of(team(1, 9, k=np.nan), team(2, 9, enps_n=np.nan))
    drivers = drivers_of((1, "workload", 9, 3.0), (3, "workload", 9, 3.0))  # team 3 has no team-week
    published, published_drivers = publish_panel(panel, drivers)
    assert published["enps"].isna().all() and published["enps_suppressed"].all()
    assert published_drivers["mean"].isna().all() and published_drivers["mean_suppressed"].all()


def test_it_refuses_a_panel_with_a_team_week_twice() -> None:
    with pytest.raises(ValueError, match="team-week twice"):
        publish_panel(panel_of(team(1, 9), team(1, 2)), drivers_of((1, "workload", 9, 3.0)))


def test_each_hidden_column_has_a_phrase_for_the_ui() -> None:
    assert suppression_note("engagement") == NOT_ENOUGH == "not enough answers to show"
    assert suppression_note("csat") == "fewer than 3 agents: not shown"


def test_the_engine_imports_only_pandas_numpy_and_the_standard_library() -> None:
    tree = ast.parse(Path(jobs.anonymity.__file__).read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in names}
    assert roots - sys.stdlib_module_names <= {"numpy", "pandas"}


# Roll-ups


def org(
    *teams: dict[str, Any], drivers: pd.DataFrame | None = None, groups: dict[str, list[int]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll up teams whose only driver, workload, has as many answers as the team has respondents."""
    if drivers is None:
        drivers = pd.concat(
            [drivers_of((t["team_id"], "workload", t["respondents"], 3.0), week=t["week"]) for t in teams],
            ignore_index=True,
        )
    return rollup(panel_of(*teams), drivers, groups)


def test_it_suppresses_the_org_total_when_only_one_team_is_hidden() -> None:
    # Org total minus the two teams shown would be team 3's two answers.
    rows, by_driver = org(team(1, 8), team(2, 6), team(3, 2))
    total = one(rows, group=ORG_TOTAL)
    assert np.isnan(total["enps"]) and total["enps_suppressed"]
    assert np.isnan(total["engagement"]) and total["engagement_suppressed"]
    assert one(by_driver, group=ORG_TOTAL)["mean_suppressed"]
    assert (total["respondents"], total["asked"], total["teams"]) == (16, 22, 3)


def test_it_shows_the_org_total_when_the_hidden_teams_together_reach_k() -> None:
    rows, by_driver = org(team(1, 8), team(2, 3), team(3, 3))
    total = one(rows, group=ORG_TOTAL)
    assert not total["enps_suppressed"] and not total["engagement_suppressed"]
    assert total["enps_n"] == 14
    assert not one(by_driver, group=ORG_TOTAL)["mean_suppressed"]


def test_roll_ups_are_weighted_by_answers() -> None:
    drivers = drivers_of((1, "growth", 8, 3.0), (2, "growth", 3, 5.0))
    rows, by_driver = org(team(1, 8, enps=50.0, k=3), team(2, 3, enps=0.0, k=3), drivers=drivers)
    assert one(rows, group=ORG_TOTAL)["enps"] == pytest.approx((50 * 8 + 0 * 3) / 11)
    growth = one(by_driver, group=ORG_TOTAL, driver="growth")
    assert growth["mean"] == pytest.approx((3.0 * 8 + 5.0 * 3) / 11) and growth["n"] == 11


def test_the_org_engagement_is_the_index_of_the_pooled_driver_means() -> None:
    drivers = drivers_of(
        (1, "workload", 6, 2.0), (2, "workload", 2, 4.0), (3, "workload", 4, 4.0), (1, "growth", 6, 5.0)
    )
    rows, by_driver = org(team(1, 6), team(2, 2), team(3, 4), drivers=drivers)
    assert by_driver.set_index("driver")["mean"].to_dict() == {"workload": 3.0, "growth": 5.0}
    total = one(rows, group=ORG_TOTAL)
    assert total["engagement"] == pytest.approx((4.0 - 1) / 4 * 100)
    assert total["engagement_n"] == 6


def test_the_org_engagement_is_hidden_when_one_of_its_drivers_is() -> None:
    drivers = drivers_of((1, "workload", 8, 2.0), (2, "workload", 2, 4.0), (1, "growth", 8, 3.0))
    rows, by_driver = org(team(1, 8), team(2, 6), drivers=drivers)
    assert by_driver.set_index("driver")["mean_suppressed"].to_dict() == {"workload": True, "growth": False}
    assert one(rows, group=ORG_TOTAL)["engagement_suppressed"]
    assert not one(rows, group=ORG_TOTAL)["enps_suppressed"]


def test_a_nested_group_is_hidden_when_its_difference_with_the_org_total_isolates_a_hidden_team() -> None:
    rows, _ = org(team(1, 8), team(2, 3), team(3, 3), groups={ORG_TOTAL: [1, 2, 3], "Platform": [1, 2]})
    assert rows.set_index("group")["enps_suppressed"].to_dict() == {ORG_TOTAL: False, "Platform": True}


def test_overlapping_groups_cannot_isolate_a_hidden_team() -> None:
    groups = {"Design": [1, 2], "Research": [2, 3], "Ops": [1, 3]}
    rows, _ = org(team(1, 3), team(2, 3), team(3, 3), groups=groups)
    # Each pools six people, but Design + Research - Ops would be twice team 2's three answers.
    assert rows.set_index("group")["enps_suppressed"].to_dict() == {"Design": False, "Research": True, "Ops": True}


def test_earlier_groups_win_when_two_roll_ups_cannot_both_be_shown() -> None:
    teams = (team(1, 8), team(2, 3), team(3, 3), team(4, 3))
    everyone, most = [1, 2, 3, 4], [1, 2, 3]
    rows, _ = org(*teams, groups={ORG_TOTAL: everyone, "Most": most})
    assert rows.set_index("group")["enps_suppressed"].to_dict() == {ORG_TOTAL: False, "Most": True}
    rows, _ = org(*teams, groups={"Most": most, ORG_TOTAL: everyone})
    assert rows.set_index("group")["enps_suppressed"].to_dict() == {"Most": False, ORG_TOTAL: True}


def test_a_roll_up_needs_the_highest_k_of_its_teams() -> None:
    rows, _ = org(team(1, 2, k=3), team(2, 4, k=8), groups={"Both": [1, 2]})
    assert one(rows, group="Both")["enps_suppressed"] and one(rows, group="Both")["k"] == 8
    rows, _ = org(team(1, 2, k=3), team(2, 4, k=6), groups={"Both": [1, 2]})
    assert not one(rows, group="Both")["enps_suppressed"]


def test_it_decides_each_week_on_its_own() -> None:
    rows, _ = org(team(1, 8), team(2, 2), team(1, 8, week=NEXT_WEEK), team(2, 6, week=NEXT_WEEK))
    assert rows.set_index("week")["enps_suppressed"].to_dict() == {WEEK: True, NEXT_WEEK: False}


def test_a_group_without_answers_has_empty_scores_not_hidden_ones() -> None:
    rows, by_driver = org(team(1, 0), team(2, 0))
    total = one(rows, group=ORG_TOTAL)
    assert np.isnan(total["enps"]) and not total["enps_suppressed"] and not total["engagement_suppressed"]
    assert (total["participation"], total["asked"]) == (0.0, 4)
    assert by_driver.empty


# Properties


@st.composite
def orgs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]]:
    """2-8 teams with 0-15 answers per measure and k of 3-10, the org total and random, nested and
    overlapping groups, in a random order of priority."""
    size = draw(st.integers(2, 8))
    teams = list(range(1, size + 1))
    counts = st.lists(st.integers(0, 15), min_size=size, max_size=size)
    enps_n, workload_n, growth_n = draw(counts), draw(counts), draw(counts)
    ks = draw(st.lists(st.integers(3, 10), min_size=size, max_size=size))
    values = draw(st.lists(st.floats(1, 5), min_size=size, max_size=size))
    rows = [
        team(t, max(e, w, g), k=ks[i], enps_n=e, enps=values[i] * 40 - 100, engagement_n=min(w, g))
        for i, (t, e, w, g) in enumerate(zip(teams, enps_n, workload_n, growth_n, strict=True))
    ]
    drivers = drivers_of(
        *[(t, "workload", workload_n[i], values[i]) for i, t in enumerate(teams)],
        *[(t, "growth", growth_n[i], 6 - values[i]) for i, t in enumerate(teams)],
    )
    subsets = st.lists(st.sampled_from(teams), min_size=1, max_size=size, unique=True)
    chain = draw(st.permutations(teams))
    cuts = draw(st.lists(st.integers(1, size), max_size=3, unique=True))
    groups = {ORG_TOTAL: teams}
    groups |= {f"nested {cut}": sorted(chain[:cut]) for cut in cuts}
    groups |= {f"group {i}": sorted(ids) for i, ids in enumerate(draw(st.lists(subsets, max_size=4)))}
    order = draw(st.permutations(list(groups)))
    return panel_of(*rows), drivers, {name: groups[name] for name in order}


def published_sets(
    team_cells: pd.DataFrame, group_cells: pd.DataFrame, column: str, groups: dict[str, list[int]]
) -> list[set[int]]:
    """Each published number as the set of teams whose sum it gives away (counts are shown, so the sum is
    mean * n)."""
    shown_teams = [{t} for t in team_cells.loc[team_cells[column].notna(), "team_id"]]
    return shown_teams + [set(groups[name]) for name in group_cells.loc[group_cells[column].notna(), "group"]]


def assert_no_set_of_fewer_than_k_people_can_be_computed(
    counts: dict[int, int], ks: dict[int, int], published: list[set[int]]
) -> None:
    """A set's sum can be computed exactly when its indicator vector is in the row span of the published
    ones, i.e. when adding it does not raise the rank."""
    answered = sorted(t for t, count in counts.items() if count > 0)  # teams without answers hide nothing

    def vector(teams: set[int] | tuple[int, ...]) -> list[float]:
        return [float(t in teams) for t in answered]

    matrix = np.array([vector(teams) for teams in published]).reshape(len(published), len(answered))
    rank = np.linalg.matrix_rank(matrix) if published else 0
    for size in range(1, len(answered) + 1):
        for subset in combinations(answered, size):
            if sum(counts[t] for t in subset) >= max(ks[t] for t in subset):
                continue
            with_subset = np.vstack([matrix, [vector(subset)]])
            assert np.linalg.matrix_rank(with_subset) == rank + 1, f"teams {subset} can be computed"


@given(orgs())
@settings(max_examples=60, deadline=None)
def test_no_published_numbers_reveal_a_value_for_fewer_than_k_people(
    org_: tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]],
) -> None:
    panel, drivers, groups = org_
    ks = dict(zip(panel["team_id"], panel["k"], strict=True))
    team_rows, team_drivers = publish_panel(panel, drivers)
    group_rows, group_drivers = rollup(panel, drivers, groups)
    enps_counts = dict(zip(panel["team_id"], panel["enps_n"], strict=True))
    published = published_sets(team_rows, group_rows, "enps", groups)
    assert_no_set_of_fewer_than_k_people_can_be_computed(enps_counts, ks, published)
    for driver in ("workload", "growth"):
        answers = drivers[drivers["driver"] == driver]
        counts = dict(zip(answers["team_id"], answers["n"], strict=True))
        team_cells = team_drivers[team_drivers["driver"] == driver]
        group_cells = group_drivers[group_drivers["driver"] == driver]
        published = published_sets(team_cells, group_cells, "mean", groups)
        assert_no_set_of_fewer_than_k_people_can_be_computed(counts, ks, published)


@given(orgs())
@settings(max_examples=30, deadline=None)
def test_engagement_is_shown_only_when_every_driver_behind_it_is(
    org_: tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]],
) -> None:
    panel, drivers, groups = org_
    team_rows, team_drivers = publish_panel(panel, drivers)
    group_rows, group_drivers = rollup(panel, drivers, groups)
    for rows, by_driver, key in ((team_rows, team_drivers, "team_id"), (group_rows, group_drivers, "group")):
        for who in rows.loc[rows["engagement"].notna(), key]:
            assert by_driver.loc[by_driver[key] == who, "mean"].notna().all()


@given(orgs(), st.randoms(use_true_random=False))
@settings(max_examples=30, deadline=None)
def test_what_is_hidden_depends_on_counts_only_never_on_answers(
    org_: tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]], random: Any
) -> None:
    panel, drivers, groups = org_
    other_panel = panel.assign(enps=[random.uniform(-100, 100) for _ in range(len(panel))])
    other_drivers = drivers.assign(mean=[random.uniform(1, 5) for _ in range(len(drivers))])
    for first, second in zip(
        (*publish_panel(panel, drivers), *rollup(panel, drivers, groups)),
        (*publish_panel(other_panel, other_drivers), *rollup(other_panel, other_drivers, groups)),
        strict=True,
    ):
        pd.testing.assert_frame_equal(first.filter(like="_suppressed"), second.filter(like="_suppressed"))


@given(orgs())
@settings(max_examples=20, deadline=None)
def test_nothing_is_hidden_when_every_team_reaches_its_threshold(
    org_: tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]],
) -> None:
    panel, drivers, groups = org_
    panel = panel.assign(enps_n=15, engagement_n=15, respondents=15, k=10)
    drivers = drivers.assign(n=15)
    group_rows, group_drivers = rollup(panel, drivers, groups)
    assert not group_rows.filter(like="_suppressed").to_numpy().any()
    assert not group_drivers["mean_suppressed"].any()
