"""What the team-week panel is computed from, aggregated by the database (docs/panel.md).

Nothing here reads a row per answer or per helpdesk event: answers come back summed per round and
question, outcomes per team, week and kind, so the cost of a digest grows with teams and weeks, not with
the history behind them. Only closed rounds count: their numbers are final and no longer tied to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Integer, Text, case, cast, func, literal, select
from sqlalchemy.orm import Session

from storage.attribution import event_teams
from storage.models import Answer, Comment, Delivery, HelpdeskEvent, PulseRound, QuestionVersion, Team

# Monday 1970-01-05: weeks are counted from here, so a week number maps back to its Monday.
EPOCH_MONDAY = date(1970, 1, 5)
SATISFIED_SCORE = 4  # on a 1-5 scale, 4 and 5 are "satisfied" (the usual CSAT top-two box)


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
        answers=_answers(session, round_ids),
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


def _answers(session: Session, round_ids: Any) -> pd.DataFrame:
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


def _week_number(session: Session, column: Any) -> ColumnElement[int]:
    """The number of the week (counted from EPOCH_MONDAY) a UTC timestamp falls in, computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        # julianday of 1970-01-05 00:00 UTC is 2440591.5; stored times are UTC.
        return cast((func.julianday(column) - 2440591.5) / 7, Integer)
    seconds = func.extract("epoch", column) - literal(4 * 86400)
    return cast(func.floor(seconds / (7 * 86400)), Integer)


def _credited(session: Session, start: date, end: date) -> Any:
    """The window's events with the team each counts for, and the few columns the panel sums."""
    since, until = (datetime.combine(day, time(), tzinfo=UTC) for day in (start, end))
    event = HelpdeskEvent
    satisfied = (event.rating_good.is_(True)) | (event.rating_score >= SATISFIED_SCORE)
    return event_teams(
        since,
        until,
        _week_number(session, event.occurred_at).label("week"),
        event.kind,
        case((satisfied, 1), else_=0).label("satisfied"),
        func.coalesce(event.agent_email, event.agent_id).label("agent"),
        event.first_response_seconds,
        event.resolution_seconds,
    ).subquery()


def _outcomes(session: Session, start: date, end: date) -> pd.DataFrame:
    """Counts, distinct agents and exact medians per team and week, in one pass over the window's events.

    For the medians each team-week's times come back joined in one string (a few thousand strings rather
    than a row per event, which would cost more to turn into Python objects than the query itself).
    """
    credited = _credited(session, start, end)
    rated = credited.c.kind == "rated"
    rows = session.execute(
        select(
            credited.c.team_id,
            credited.c.week,
            func.sum(case((credited.c.kind == "solved", 1), else_=0)),
            func.sum(case((credited.c.kind == "reopened", 1), else_=0)),
            func.sum(case((rated, 1), else_=0)),
            func.sum(case((rated, credited.c.satisfied), else_=0)),
            func.count(func.distinct(credited.c.agent)),
            _joined(session, credited.c.first_response_seconds),
            _joined(session, credited.c.resolution_seconds),
        ).group_by(credited.c.team_id, credited.c.week)
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
    if joined is None or joined == "":
        return float("nan")
    return float(np.median(np.array(str(joined).split(","), dtype=np.float64)))


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
