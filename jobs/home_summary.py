"""Pure: the managers' part of the App Home, the digest's numbers for one team-week, the digest's rules.

A managed team's summary is its digest cell for the week of its latest closed round: the same formulas
as jobs.panel (a driver's n is its most-answered question, i.e. distinct people, and its mean pools its
questions' answers; eNPS is % promoters minus % detractors) and the same rule as jobs.anonymity
(`score_visible`: k distinct people). The digest computes these for every team and week at once with
pandas; a Home needs one or two team-weeks, where pandas' fixed cost per operation (about 100 ms a Home)
would be nearly all of it. So this computes the same formulas on plain values, and
tests/jobs/test_home_summary.py proves on random inputs that it agrees, cell for cell, with
jobs.panel.build_panel + jobs.anonymity.publish_panel.

The records are storage.home_records' ManagerSummary and DriverAverage. A cell the engine hides keeps
its place, without its number (`DriverAverage.hidden`, `ManagerSummary.enps_hidden`), so the Home says
"not enough answers to show" where the digest does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pandas as pd

from jobs.anonymity import score_visible
from jobs.panel import ENPS_SCALE
from storage.home_records import DriverAverage, ManagerSummary


def manager_summaries(teams: pd.DataFrame, rounds: pd.DataFrame, answers: pd.DataFrame) -> tuple[ManagerSummary, ...]:
    """One summary per team of `teams` (in its order), from storage.home.ManagedRounds' frames."""
    by_team: dict[Any, list[Any]] = defaultdict(list)
    for row in rounds.itertuples(index=False):
        by_team[row.team_id].append(row)
    latest = {team: max(row.week for row in rows) for team, rows in by_team.items()}
    week_of_round = {row.round_id: (row.team_id, row.week) for row in rounds.itertuples(index=False)}
    answered: dict[Any, list[Any]] = defaultdict(list)
    for row in answers.itertuples(index=False):
        team, week = week_of_round.get(row.round_id, (None, None))
        if team is not None and week == latest[team]:
            answered[team].append(row)
    summaries = []
    for team_id, name in zip(teams["team_id"], teams["name"], strict=True):
        if team_id not in by_team:
            summaries.append(ManagerSummary(str(name), None, 0, 0, 0))
            continue
        week_rounds = [row for row in by_team[team_id] if row.week == latest[team_id]]
        k = max(int(row.k) for row in week_rounds)
        asked = [row.asked for row in week_rounds if not _missing(row.asked)]
        summary = ManagerSummary(
            str(name),
            max(row.opened_on for row in by_team[team_id]),
            k,
            int(sum(asked)) if asked else 0,  # no ledger (imported rounds only): 0, shown as "N answered"
            int(sum(row.respondents for row in week_rounds)),
        )
        summaries.append(_with_results(summary, answered[team_id]) if summary.shown else summary)
    return tuple(summaries)


def _with_results(summary: ManagerSummary, answers: list[Any]) -> ManagerSummary:
    k = summary.threshold
    people: dict[str, float] = defaultdict(float)  # a driver's most-answered question
    counted: dict[str, float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    enps_n = promoters = detractors = 0.0
    for row in answers:
        if row.scale == ENPS_SCALE:
            enps_n, promoters, detractors = enps_n + row.n, promoters + row.promoters, detractors + row.detractors
            continue
        people[row.driver] = max(people[row.driver], float(row.n))
        counted[row.driver] += row.n
        totals[row.driver] += row.total
    drivers = tuple(
        DriverAverage(driver, totals[driver] / counted[driver] if score_visible(n, k) else None, int(n))
        for driver, n in sorted(people.items())
        if n > 0
    )
    asked_enps = enps_n > 0
    hidden = asked_enps and not score_visible(enps_n, k)
    enps = round(100 * (promoters - detractors) / enps_n) if asked_enps and not hidden else None
    return ManagerSummary(
        summary.team, summary.opened_on, k, summary.asked, summary.answered, drivers, enps, enps_hidden=hidden
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
