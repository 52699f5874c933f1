"""Pure: the story the demo organisation tells, as parameters and week-by-week intensities.

One support team slides into a workload crunch `crunch_weeks` before the end: its tickets per agent go
up, its workload and wellbeing answers fall the same week, and its customers feel it `cx_lag_weeks`
later (CSAT falls, reopens and response times rise). That lag is what Tandem exists to show: the
employee signal comes first. One team is too small to show (below k); every other team is stable noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np


@dataclass(frozen=True)
class StoryParams:
    crunch_weeks: int = 5  # the crunch starts this many weeks before the end (the last week included)
    cx_lag_weeks: int = 2  # customers feel it this many weeks after the team does
    ramp_weeks: int = 2  # weeks from the first sign to full intensity
    # Drops of the latent 1-5 driver scores at full intensity (before rounding and clipping to the scale).
    driver_drops: dict[str, float] = field(
        default_factory=lambda: {"workload": 1.8, "wellbeing": 1.3, "recognition": 0.3, "manager_support": 0.3}
    )
    enps_drop: float = 2.5  # on the 0-10 scale
    participation_drop: float = 0.08  # fewer people answer when they are swamped
    comment_rise: float = 0.10  # more of those who answer leave a comment (to vent)
    load_rise: float = 0.35  # tickets per agent, relative; starts with the crunch: it is the cause
    csat_drop: float = 0.32  # share of satisfied ratings lost at full intensity
    reopen_rise: float = 0.10  # reopen probability added at full intensity
    response_slowdown: float = 1.5  # first response time multiplied by 1 + this at full intensity
    resolution_slowdown: float = 0.8
    small_team_size: int = 3  # below k = 5: the anonymity engine must hold its numbers back


@dataclass(frozen=True)
class Story:
    """The story as it lands in one generated organisation: which teams, which weeks (Mondays)."""

    params: StoryParams
    crunch_team: str
    small_team: str
    crunch_start: date  # first week of the EX drop
    cx_start: date  # first week customers feel it

    @property
    def summary(self) -> str:
        return (
            f"{self.crunch_team} hits a workload crunch from the week of {self.crunch_start:%d %b %Y}; its "
            f"customers feel it from {self.cx_start:%d %b %Y}. {self.small_team} has "
            f"{self.params.small_team_size} people, too few to show."
        )


def crunch_start_week(params: StoryParams, weeks: int) -> int:
    """Index (0 = first week) of the crunch's first week."""
    start = weeks - params.crunch_weeks
    if start < 1:
        raise ValueError(f"the story needs more than {params.crunch_weeks} weeks of history, got {weeks}")
    return start


def ex_intensity(params: StoryParams, weeks: int) -> np.ndarray:
    """Per week, 0 (normal) to 1 (full crunch) for the team's own experience."""
    since = np.arange(weeks) - crunch_start_week(params, weeks)
    return np.clip((since + 1) / params.ramp_weeks, 0.0, 1.0)


def cx_intensity(params: StoryParams, weeks: int) -> np.ndarray:
    """The same curve, `cx_lag_weeks` later: what customers see."""
    ex = ex_intensity(params, weeks)
    lag = params.cx_lag_weeks
    return np.concatenate([np.zeros(min(lag, weeks)), ex[: max(weeks - lag, 0)]])


def make_story(params: StoryParams, crunch_team: str, small_team: str, first_week: date, weeks: int) -> Story:
    start = first_week + timedelta(weeks=crunch_start_week(params, weeks))
    return Story(params, crunch_team, small_team, start, start + timedelta(weeks=params.cx_lag_weeks))
