"""Pure: the team-week panel (docs/panel.md) from the database's aggregates, for all teams at once.

One vectorized pass: rounds, answers, comments and outcomes are grouped by (team, week) and joined onto
the full grid of teams x weeks, so a week without data is a row of NaN rather than a missing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

ENPS_SCALE = "enps"
ENGAGEMENT_WEEKS = 4  # a driver counts in the engagement index for 4 weeks after it was asked
KEYS = ["team_id", "week"]
PANEL_COLUMNS = [
    *KEYS,
    "k",
    "asked",
    "respondents",
    "participation",
    "engagement",
    "engagement_n",
    "enps",
    "enps_n",
    "comments",
    "sentiment",
    "solved",
    "reopened",
    "rated",
    "csat",
    "reopen_rate",
    "first_response_median",
    "resolution_median",
    "agents",
    "tickets_per_agent",
]
DRIVER_COLUMNS = [*KEYS, "driver", "n", "mean", "sd"]


class PanelInputs(Protocol):
    """What storage.panel_data.PanelData carries (the frames are described there)."""

    teams: pd.DataFrame
    rounds: pd.DataFrame
    answers: pd.DataFrame
    comments: pd.DataFrame
    outcomes: pd.DataFrame


@dataclass(frozen=True)
class Panel:
    panel: pd.DataFrame  # PANEL_COLUMNS, one row per team and week
    drivers: pd.DataFrame  # DRIVER_COLUMNS, one row per team, week and driver asked


def build_panel(data: PanelInputs, weeks: Sequence[date]) -> Panel:
    """The raw panel for `weeks` (Mondays), before anonymity rules: every team, every week."""
    grid = pd.MultiIndex.from_product(
        [data.teams["team_id"].astype("int64").tolist(), pd.to_datetime(list(weeks))], names=KEYS
    ).to_frame(index=False)
    rounds = data.rounds.astype({"team_id": "int64", "round_id": "int64"})
    drivers = _driver_scores(rounds, data.answers)
    panel = (
        grid.merge(_participation(rounds, data.teams), on=KEYS, how="left")
        .merge(_engagement(drivers, weeks), on=KEYS, how="left")
        .merge(_enps(rounds, data.answers), on=KEYS, how="left")
        .merge(_comments(rounds, data.comments), on=KEYS, how="left")
        .merge(_customer_outcomes(data.outcomes), on=KEYS, how="left")
    )
    team_k = data.teams.set_index("team_id")["k"]
    panel["k"] = panel["k"].fillna(panel["team_id"].map(team_k)).astype("int64")
    return Panel(panel[PANEL_COLUMNS], drivers.merge(grid, on=KEYS)[DRIVER_COLUMNS])


def _participation(rounds: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    # Weeks hold one round per team on every supported cadence; summing covers an imported extra round.
    by_week = rounds.astype({"asked": "float64"}).groupby(KEYS)
    grouped = by_week.agg(k=("k", "max"), respondents=("respondents", "sum"))
    grouped["asked"] = by_week["asked"].sum(min_count=1)  # NaN, not 0, when only imported rounds (no ledger)
    grouped = grouped.reset_index()
    grouped["participation"] = grouped["respondents"] / grouped["asked"].where(grouped["asked"] > 0)
    return grouped


def _with_team_week(rounds: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"round_id": "int64"}).merge(rounds[["round_id", *KEYS, "k"]], on="round_id")


def _driver_scores(rounds: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    rows = _with_team_week(rounds, answers[answers["scale"] != ENPS_SCALE])
    rows = rows.astype({"n": "float64", "total": "float64", "total_sq": "float64"})
    grouped = rows.groupby([*KEYS, "driver"], as_index=False).agg(
        # Each question's answers come from distinct people, so the most-answered question is a lower
        # bound on how many people stand behind the driver (one person may answer two of its questions).
        n=("n", "max"),
        answers=("n", "sum"),
        total=("total", "sum"),
        total_sq=("total_sq", "sum"),
        k=("k", "max"),
    )
    grouped["mean"] = grouped["total"] / grouped["answers"]
    variance = (grouped["total_sq"] / grouped["answers"] - grouped["mean"] ** 2).clip(lower=0)
    grouped["sd"] = np.sqrt(variance)
    grouped["n"] = grouped["n"].astype("int64")
    return grouped[[*DRIVER_COLUMNS, "k"]]


def _engagement(drivers: pd.DataFrame, weeks: Sequence[date]) -> pd.DataFrame:
    """Mean of the driver means rescaled to 0-100, over each driver's latest mean within ENGAGEMENT_WEEKS.

    Rotation asks different drivers each week; averaging only this week's would make the index jump with
    which drivers came up. So each driver contributes its most recent mean of the last 4 weeks. The index
    exists only in weeks with answers of their own, and drivers answered by fewer than k never enter it.
    """
    shown = drivers[drivers["n"] >= drivers["k"]]
    if shown.empty:
        return pd.DataFrame(columns=[*KEYS, "engagement", "engagement_n"])
    columns = pd.to_datetime(list(weeks))
    means = shown.pivot(index=["team_id", "driver"], columns="week", values="mean").reindex(columns=columns)
    counts = shown.pivot(index=["team_id", "driver"], columns="week", values="n").reindex(columns=columns)
    recent_means = means.ffill(axis=1, limit=ENGAGEMENT_WEEKS - 1)
    recent_counts = counts.ffill(axis=1, limit=ENGAGEMENT_WEEKS - 1)
    index = recent_means.groupby(level="team_id").mean()
    smallest = recent_counts.groupby(level="team_id").min()
    asked_this_week = means.notna().groupby(level="team_id").any()
    frame = pd.DataFrame(
        {
            "engagement": ((index - 1) / 4 * 100).where(asked_this_week).stack(),
            "engagement_n": smallest.where(asked_this_week).stack(),
        }
    ).reset_index()
    frame.columns = [*KEYS, "engagement", "engagement_n"]
    return frame.dropna(subset=["engagement"])


def _enps(rounds: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    rows = _with_team_week(rounds, answers[answers["scale"] == ENPS_SCALE])
    grouped = rows.groupby(KEYS, as_index=False).agg(
        enps_n=("n", "sum"), promoters=("promoters", "sum"), detractors=("detractors", "sum")
    )
    grouped["enps"] = 100 * (grouped["promoters"] - grouped["detractors"]) / grouped["enps_n"]
    return grouped[[*KEYS, "enps", "enps_n"]]


def _comments(rounds: pd.DataFrame, comments: pd.DataFrame) -> pd.DataFrame:
    rows = _with_team_week(rounds, comments)
    grouped = rows.groupby(KEYS, as_index=False).agg(comments=("comments", "sum"), polarity=("polarity_sum", "sum"))
    grouped["sentiment"] = grouped["polarity"] / grouped["comments"]
    return grouped[[*KEYS, "comments", "sentiment"]]


def _customer_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    counts = ("solved", "reopened", "rated", "satisfied", "agents", "first_response_median", "resolution_median")
    frame = outcomes.astype({"team_id": "int64"}).astype({c: "float64" for c in counts})
    frame["csat"] = 100 * frame["satisfied"] / frame["rated"].where(frame["rated"] > 0)
    frame["reopen_rate"] = frame["reopened"] / frame["solved"].where(frame["solved"] > 0)
    frame["tickets_per_agent"] = frame["solved"] / frame["agents"].where(frame["agents"] > 0)
    return frame.drop(columns="satisfied")
