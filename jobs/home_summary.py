"""Pure: the managers' part of the App Home, published by the anonymity engine exactly as the digest is.

A managed team's summary is its digest cell for the week of its latest closed round: the same panel
(jobs.panel.build_panel: a driver's n is the most-answered of its questions, i.e. distinct people), the
same rules (jobs.anonymity.publish_panel: k per cell, NaN where hidden). So the Home can never show a
number the digest of that week hides, nor one that differs from it.

The records are storage.home_records' ManagerSummary and DriverAverage. A cell the engine hides keeps
its place, without its number (`DriverAverage.hidden`, `ManagerSummary.enps_hidden`), so the Home says
"not enough answers to show" where the digest does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from jobs.anonymity import publish_panel
from jobs.panel import build_panel
from storage.home_records import DriverAverage, ManagerSummary

_COMMENT_COLUMNS = {"round_id": "int64", "comments": "float64", "polarity_sum": "float64"}
_OUTCOME_NUMBERS = ("solved", "reopened", "rated", "satisfied", "agents", "first_response_median")
_OUTCOME_COLUMNS = {
    "team_id": "int64",
    "week": "datetime64[ns]",
    **{column: "float64" for column in (*_OUTCOME_NUMBERS, "resolution_median")},
}


@dataclass(frozen=True)
class _PanelInputs:
    """jobs.panel.PanelInputs without comments (the Home shows none) or customer outcomes (nor those)."""

    teams: pd.DataFrame
    rounds: pd.DataFrame
    answers: pd.DataFrame
    comments: pd.DataFrame
    outcomes: pd.DataFrame


def manager_summaries(teams: pd.DataFrame, rounds: pd.DataFrame, answers: pd.DataFrame) -> tuple[ManagerSummary, ...]:
    """One summary per team of `teams` (in its order), from storage.home.ManagedRounds' frames."""
    if rounds.empty:
        return tuple(ManagerSummary(str(name), None, 0, 0, 0) for name in teams["name"])
    rounds = rounds.astype({"round_id": "int64", "team_id": "int64", "week": "datetime64[ns]"})
    weeks = sorted({week.date() for week in rounds["week"]})
    inputs = _PanelInputs(
        teams=teams.astype({"team_id": "int64"}),
        rounds=rounds,
        answers=_with_columns(answers),
        comments=pd.DataFrame({c: pd.Series(dtype=t) for c, t in _COMMENT_COLUMNS.items()}),
        outcomes=pd.DataFrame({c: pd.Series(dtype=t) for c, t in _OUTCOME_COLUMNS.items()}),
    )
    raw = build_panel(inputs, weeks)
    panel, drivers = publish_panel(raw.panel, raw.drivers)
    latest = rounds.groupby("team_id").agg(week=("week", "max"), opened_on=("opened_on", "max"))
    cells = panel.set_index(["team_id", "week"])
    by_cell = {key: group for key, group in drivers.groupby(["team_id", "week"])}
    summaries = []
    for team_id, name in zip(teams["team_id"], teams["name"], strict=True):
        if team_id not in latest.index:
            summaries.append(ManagerSummary(str(name), None, 0, 0, 0))
            continue
        week, opened_on = latest.loc[team_id, "week"], latest.loc[team_id, "opened_on"]
        row = cells.loc[(team_id, week)]
        summary = ManagerSummary(str(name), opened_on, int(row["k"]), _count(row["asked"]), _count(row["respondents"]))
        if summary.shown:
            scores = by_cell.get((team_id, week), drivers.iloc[0:0])
            summary = _with_results(summary, row, scores)
        summaries.append(summary)
    return tuple(summaries)


def _with_results(summary: ManagerSummary, row: pd.Series, drivers: pd.DataFrame) -> ManagerSummary:
    cells = [
        DriverAverage(str(d.driver), None if d.mean_suppressed else float(d.mean), int(d.n))
        for d in drivers.sort_values("driver").itertuples()
        if d.n > 0
    ]
    asked_enps = _count(row["enps_n"]) > 0
    hidden = asked_enps and bool(row["enps_suppressed"])
    enps = round(float(row["enps"])) if asked_enps and not hidden else None
    return replace(summary, drivers=tuple(cells), enps=enps, enps_hidden=hidden)


def _with_columns(answers: pd.DataFrame) -> pd.DataFrame:
    numbers = ("n", "total", "total_sq", "promoters", "detractors")
    return answers.astype({"round_id": "int64", **{column: "float64" for column in numbers}})


def _count(value: object) -> int:
    """A panel count as an int; NaN (no ledger: an imported round) is 0."""
    number = float(value)  # type: ignore[arg-type]
    return 0 if math.isnan(number) else int(number)
