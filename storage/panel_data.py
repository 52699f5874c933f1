"""What the team-week panel is computed from, aggregated by the database (docs/panel.md).

Nothing here reads a row per answer or per helpdesk event: answers come back summed per round and
question, outcomes per team, week and kind, so the cost of a digest grows with teams and weeks, not with
the history behind them. Only closed rounds count: their numbers are final and no longer tied to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Text, case, cast, func, select
from sqlalchemy.orm import Session

from storage.attribution import week_teams
from storage.models import Answer, Comment, Delivery, HelpdeskWeek, PulseRound, QuestionVersion, Team

# Monday 1970-01-05: weeks are counted from here, so a week number maps back to its Monday.
EPOCH_MONDAY = date(1970, 1, 5)


@dataclass(frozen=True)
class PanelData:
    """Aggregates for the weeks [first, last]: plain frames, the input of jobs.panel.build_panel."""

    teams: pd.DataFrame  # team_id, name, k
    rounds: pd.DataFrame  # round_id, team_id, week, k, asked, respondents
    answers: pd.DataFrame  # round_id, question_key, driver, scale, n, total, total_sq, promoters, detractors
    comments: pd.DataFrame  # round_id, comments, polarity_sum
    outcomes: pd.DataFrame  # team_id, week, solved, reopened, rated, satisfied, agents, *_median (seconds)


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def load_panel_data(session: Session, first_week: date, last_week: date) -> PanelData:
    """Everything the panel needs for the ISO weeks whose Mondays are `first_week` to `last_week`."""
    start, end = week_monday(first_week), week_monday(last_week) + timedelta(days=7)
    rounds = _rounds(session, start, end)
    round_ids = select(PulseRound.id).where(*_closed_between(start, end))
    return PanelData(
        teams=_frame(session.execute(select(Team.id, Team.name, Team.anonymity_threshold)), ["team_id", "name", "k"]),
        rounds=rounds,
        answers=answer_sums(session, round_ids),
        comments=_frame(
            session.execute(
                select(Comment.round_id, func.count(), func.sum(Comment.polarity))
                .where(Comment.round_id.in_(round_ids))
                .group_by(Comment.round_id)
            ),
            ["round_id", "comments", "polarity_sum"],
        ),
        outcomes=_outcomes(session, start, end),
    )


def _closed_between(start: date, end: date) -> list[ColumnElement[bool]]:
    return [PulseRound.opened_on >= start, PulseRound.opened_on < end, PulseRound.closed_at.is_not(None)]


def _rounds(session: Session, start: date, end: date) -> pd.DataFrame:
    delivered = (
        select(
            Delivery.round_id,
            func.count().label("asked"),
            func.sum(case((Delivery.answered.is_(True), 1), else_=0)).label("answered"),
        )
        .where(Delivery.status == "closed")
        .group_by(Delivery.round_id)
        .subquery()
    )
    rows = session.execute(
        select(
            PulseRound.id,
            PulseRound.team_id,
            PulseRound.opened_on,
            PulseRound.anonymity_threshold,
            delivered.c.asked,
            # Imported rounds have no deliveries: the number of people who answered is all that is known.
            func.coalesce(delivered.c.answered, PulseRound.respondents, 0),
        )
        .outerjoin(delivered, delivered.c.round_id == PulseRound.id)
        .where(*_closed_between(start, end))
    )
    frame = _frame(rows, ["round_id", "team_id", "opened_on", "k", "asked", "respondents"])
    frame["week"] = pd.to_datetime([week_monday(day) for day in frame["opened_on"]])
    return frame.drop(columns="opened_on")


def answer_sums(session: Session, round_ids: Any) -> pd.DataFrame:
    """Sums per round and question of the rounds `round_ids` (a list, or a select of ids): PanelData.answers."""
    value = Answer.value
    rows = session.execute(
        select(
            Answer.round_id,
            QuestionVersion.key,
            QuestionVersion.driver,
            QuestionVersion.scale,
            func.count(value),
            func.sum(value),
            func.sum(value * value),
            func.sum(case((value >= 9, 1), else_=0)),
            func.sum(case((value <= 6, 1), else_=0)),
        )
        .join(QuestionVersion, QuestionVersion.id == Answer.question_id)
        .where(Answer.round_id.in_(round_ids), value.is_not(None))
        .group_by(Answer.round_id, QuestionVersion.key, QuestionVersion.driver, QuestionVersion.scale)
    )
    return _frame(
        rows,
        ["round_id", "question_key", "driver", "scale", "n", "total", "total_sq", "promoters", "detractors"],
    )


def week_number(day: date) -> int:
    """The number of the week `day` falls in, counted from EPOCH_MONDAY (as storage.models.HelpdeskWeek.week)."""
    return (day - EPOCH_MONDAY).days // 7


def _outcomes(session: Session, start: date, end: date) -> pd.DataFrame:
    """Counts, distinct agents and exact medians per team and week, from the weekly sums per attribution
    key (storage.models.HelpdeskWeek), which a trigger keeps current as events are stored.

    For the medians each team-week's times come back joined in one string (a few thousand strings rather
    than a row per event, which would cost more to turn into Python objects than the query itself).
    """
    weeks = HelpdeskWeek.__table__.c
    agent = func.coalesce(func.nullif(weeks.agent_email, ""), func.nullif(weeks.agent_id, ""))
    credited = week_teams(
        week_number(start),
        week_number(end),
        *(weeks[name] for name in ("week", "solved", "reopened", "rated", "satisfied")),
        agent.label("agent"),
        weeks.first_response_times,
        weeks.resolution_times,
    ).subquery()
    c = credited.c
    rows = session.execute(
        select(
            c.team_id,
            c.week,
            func.sum(c.solved),
            func.sum(c.reopened),
            func.sum(c.rated),
            func.sum(c.satisfied),
            func.count(func.distinct(c.agent)),
            _joined(session, c.first_response_times),
            _joined(session, c.resolution_times),
        ).group_by(c.team_id, c.week)
    )
    columns = ["team_id", "week", "solved", "reopened", "rated", "satisfied", "agents"]
    frame = _frame(rows, [*columns, "first_response_median", "resolution_median"])
    for column in ("first_response_median", "resolution_median"):
        frame[column] = [_median_of(joined) for joined in frame[column]]
    return _monday_weeks(frame)


def _joined(session: Session, column: Any) -> ColumnElement[Any]:
    """The column's non-null values of a group as one comma-separated string (NULL when there are none)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.group_concat(column, ",", type_=Text)
    return func.string_agg(cast(column, Text), ",", type_=Text)


def _median_of(joined: object) -> float:
    """The median of comma-joined whole seconds, NaN when there are none.

    numpy parses whole numbers ten times faster than floats, and np.median's generality costs more per call
    than the partition it does: both count at tens of thousands of team-weeks.
    """
    if not isinstance(joined, str) or not joined:  # None, or NaN once pandas has seen the column
        return float("nan")
    values = np.fromstring(joined, dtype=np.int64, sep=",")
    half = values.size // 2
    if values.size % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, [half - 1, half])[half - 1 : half + 1]
    return (float(low) + float(high)) / 2


def _monday_weeks(frame: pd.DataFrame) -> pd.DataFrame:
    epoch = pd.Timestamp(EPOCH_MONDAY)
    frame["week"] = epoch + pd.to_timedelta(frame["week"].astype("int64") * 7, unit="D")
    return frame


def _frame(rows: Any, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def week_comments(session: Session, week: date, team_ids: list[int] | None = None) -> dict[int, list[Any]]:
    """(driver, text, round opened on) of the comments in each team's closed rounds of `week`, in their
    stored order, which closing the round shuffled."""
    start = week_monday(week)
    query = (
        select(PulseRound.team_id, Comment.driver, Comment.text, PulseRound.opened_on)
        .join(PulseRound, PulseRound.id == Comment.round_id)
        .where(*_closed_between(start, start + timedelta(days=7)))
    )
    if team_ids is not None:
        query = query.where(PulseRound.team_id.in_(team_ids))
    found: dict[int, list[Any]] = {}
    for team_id, driver, text, opened_on in session.execute(query):
        found.setdefault(team_id, []).append((driver, text, opened_on))
    return found
