"""Pure: the support teams' customer outcomes (solved, reopened, rated), one row per helpdesk event.

Every support agent (a support team's member other than its manager) solves a Poisson number of tickets
a week; each solved ticket may be reopened and may be rated later the same week. Events carry the
agent's member email, which is how Tandem credits them to the agent's team.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from jobs.demo_names import REGION_UTC_OFFSET_HOURS
from jobs.demo_pulses import utc_times
from jobs.demo_story import StoryParams, cx_intensity, ex_intensity

NS = 1_000_000_000
WEEK_SECONDS = 7 * 86_400
DAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.2, 0.15])  # Monday to Sunday: weekends are quiet
FIRST_TICKET = 100_001
KINDS = ["solved", "reopened", "rated"]
SOLVED, REOPENED, RATED = range(3)
MAX_SECONDS = 30 * 86_400  # resolution times past a month are cut there


def _team_profile(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """How each support team performs when nothing is wrong: the stable teams' realistic spread."""
    return {
        "satisfied": rng.uniform(0.85, 0.93, count),
        "reopen": rng.uniform(0.04, 0.08, count),
        "rating_rate": rng.uniform(0.30, 0.55, count),
        "first_response": rng.uniform(25, 90, count) * 60,  # median, seconds
        "resolution": rng.uniform(6, 30, count) * 3600,
        "scored": rng.random(count) < 0.5,  # rated 1-5 (Freshdesk-like) rather than good/bad (Zendesk-like)
        "load": rng.normal(1.0, 0.06, count),
    }


def _seconds_into_week(rng: np.random.Generator, offset_hours: np.ndarray) -> np.ndarray:
    """Working-hours times in the team's region, as seconds since Monday 00:00 UTC (wrapping within the week)."""
    day = np.searchsorted(np.cumsum(DAY_WEIGHTS) / DAY_WEIGHTS.sum(), rng.random(len(offset_hours)))
    local_hour = np.clip(rng.normal(13.5, 2.6, len(offset_hours)), 7.0, 21.5)
    return ((day * 24 + local_hour - offset_hours) * 3600).astype(np.int64) % WEEK_SECONDS


def helpdesk_events(
    rng: np.random.Generator,
    teams: pd.DataFrame,
    members: pd.DataFrame,
    first_week: date,
    weeks: int,
    params: StoryParams,
    tickets_per_agent_week: float,
) -> pd.DataFrame:
    """Columns: ticket, kind, occurred_at (UTC), agent_email, rating_good, rating_score, ticket_created_at,
    first_response_seconds, resolution_seconds; sorted by time."""
    support = np.flatnonzero(teams["support"].to_numpy())
    team_of = members["team"].to_numpy()
    managers = teams["first_member"].to_numpy()
    is_agent = np.isin(team_of, support) & ~np.isin(np.arange(len(members)), managers)
    agent = np.flatnonzero(is_agent)
    profile = _team_profile(rng, len(teams))
    speed = rng.lognormal(0.0, 0.25, len(agent))
    load = 1.0 + params.load_rise * np.outer(team_of[agent] == 0, ex_intensity(params, weeks))
    counts = rng.poisson(tickets_per_agent_week * (speed * profile["load"][team_of[agent]])[:, None] * load)

    member = np.repeat(np.repeat(agent, weeks), counts.ravel())
    week = np.repeat(np.tile(np.arange(weeks), len(agent)), counts.ravel())
    team = team_of[member]
    start = np.datetime64(first_week, "D").astype("datetime64[ns]").astype(np.int64) + week * WEEK_SECONDS * NS
    offsets = np.array([REGION_UTC_OFFSET_HOURS[r] for r in teams["region"]])[team]
    solved_at = start + _seconds_into_week(rng, offsets) * NS
    left = start + WEEK_SECONDS * NS - solved_at  # what is left of the week: later events stay in it
    hurt = np.where(team == 0, cx_intensity(params, weeks)[week], 0.0)

    size = len(member)
    first_response = rng.lognormal(np.log(profile["first_response"][team] * (1 + params.response_slowdown * hurt)), 0.9)
    resolution = rng.lognormal(np.log(profile["resolution"][team] * (1 + params.resolution_slowdown * hurt)), 1.0)
    first_response = np.maximum(first_response, 30).astype(np.int64)
    resolution = np.minimum(np.maximum(resolution, first_response + 60), MAX_SECONDS).astype(np.int64)
    reopened = rng.random(size) < profile["reopen"][team] + params.reopen_rise * hurt
    rated = rng.random(size) < profile["rating_rate"][team]
    # A ticket that came back is rated worse.
    satisfied = rng.random(size) < profile["satisfied"][team] - params.csat_drop * hurt - 0.3 * reopened
    draw = rng.random(size)
    score = np.where(satisfied, 4 + (draw < 0.7), np.searchsorted([0.4, 0.7], draw, side="right") + 1)

    reopen_at = solved_at + (left * rng.uniform(0.05, 0.9, size)).astype(np.int64)
    rated_at = solved_at + (left * rng.uniform(0.02, 0.6, size)).astype(np.int64)
    pick = [np.arange(size), np.flatnonzero(reopened), np.flatnonzero(rated)]
    source = np.concatenate(pick)
    kind = np.repeat(np.arange(3, dtype=np.int8), [len(p) for p in pick])
    occurred = np.concatenate([solved_at, reopen_at[pick[1]], rated_at[pick[2]]])
    order = np.argsort(occurred)
    source, kind, occurred = source[order], kind[order], occurred[order]
    is_solved, is_rated = kind == SOLVED, kind == RATED
    # Ticket numbers follow the order tickets were solved in (the sorted solved events).
    ticket = np.empty(size, dtype=np.int64)
    ticket[source[is_solved]] = FIRST_TICKET + np.arange(size)

    scored = profile["scored"][team[source]]
    return pd.DataFrame(
        {
            "ticket": ticket[source],
            "kind": pd.Categorical.from_codes(kind, KINDS),
            "occurred_at": utc_times(occurred),
            "agent_email": pd.Categorical.from_codes(member[source], members["email"].to_numpy()),
            "rating_good": pd.arrays.BooleanArray(satisfied[source], ~is_rated | scored),
            "rating_score": pd.arrays.IntegerArray(score[source].astype(np.int8), ~is_rated | ~scored),
            "ticket_created_at": utc_times(
                np.where(is_solved, occurred - resolution[source] * NS, np.iinfo(np.int64).min)
            ),
            "first_response_seconds": pd.arrays.IntegerArray(first_response[source].astype(np.int32), ~is_solved),
            "resolution_seconds": pd.arrays.IntegerArray(resolution[source].astype(np.int32), ~is_solved),
        }
    )
