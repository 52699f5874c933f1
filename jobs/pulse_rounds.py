"""Opening pulse rounds: which teams are due, who is in the round, which questions each group gets.

The database decides: a round is opened at most once per team and day (a unique key), every member
present when it opens gets a pending delivery with their own due time, and a member who joins later
waits for the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from jobs.pulse_schedule import PulseSchedule, closes_at, due_at, pulse_date
from jobs.question_bank import QuestionBank, with_questions
from jobs.rotation import RotationSettings
from jobs.round_plan import plan_round
from storage.db import SessionFactory, transaction
from storage.models import Team
from storage.questions import active_questions, current_versions, seed_questions
from storage.rounds import insert_round, latest_round, member_history, save_round_plan
from storage.teams import pulsed_members, pulsed_teams

log = logging.getLogger(__name__)

# Rounds of history that rotation looks back over: a full cycle of drivers plus the no-repeat span.
HISTORY_ROUNDS = 24


@dataclass(frozen=True)
class OpenedRound:
    team: str
    round_id: int
    number: int
    members: int
    groups: int


class ScheduledTeam(Protocol):
    """What a schedule is made of: a Team, or a row of its schedule columns."""

    pulse_weekday: int
    window_start_minute: int
    window_end_minute: int
    every_weeks: int
    working_days: str
    reminder_after_days: int
    close_after_days: int
    created_at: datetime


def team_schedule(team: ScheduledTeam) -> PulseSchedule:
    return PulseSchedule(
        weekday=team.pulse_weekday,
        window_start=_time_of(team.window_start_minute),
        window_end=_time_of(team.window_end_minute),
        every_weeks=team.every_weeks,
        working_days=frozenset(int(day) for day in team.working_days),
        reminder_after_days=team.reminder_after_days,
        close_after_days=team.close_after_days,
        anchor=team.created_at.date(),
    )


def open_due_rounds(
    factory: SessionFactory,
    bank: QuestionBank,
    now: datetime,
    team_ids: list[int] | None = None,
    right_now: bool = False,
) -> list[OpenedRound]:
    """Open the round of every team whose pulse day has come (or, `right_now`, of every team given
    that has no open round), each in its own transaction."""
    with transaction(factory) as session:
        teams = pulsed_teams(session, team_ids)
    opened = []
    for team in teams:
        with transaction(factory) as session:
            result = _open_round(session, team, bank, now, right_now)
        if result is not None:
            log.info("opened round %d of team %s for %d members", result.number, result.team, result.members)
            opened.append(result)
    return opened


def _open_round(session: Session, team: Team, bank: QuestionBank, now: datetime, right_now: bool) -> OpenedRound | None:
    schedule = team_schedule(team)
    latest = latest_round(session, team.id)
    if latest is not None and latest.closed_at is None:
        return None  # one open round per team at a time
    cycle_day = None if right_now else pulse_date(schedule, now)
    if not right_now and (
        cycle_day is None or (latest is not None and latest.opened_on >= cycle_day - timedelta(days=6))
    ):
        return None  # an off week, or this week's round was already opened (checked before loading anyone)
    members = pulsed_members(session, team.id)
    if not members:
        return None
    if cycle_day is None:
        day: date = now.date()
        due = {member_id: now for member_id, _tz in members}
        closing = now + timedelta(days=schedule.close_after_days)
    else:
        due = {member_id: due_at(schedule, cycle_day, tz, now) for member_id, tz in members}
        first = min(due.values())
        if now < first or now >= closes_at(schedule, first):
            return None  # not yet anywhere, or the whole cycle went by while Tandem was down
        day, closing = cycle_day, closes_at(schedule, first)

    # The shipped bank only seeds new keys: after that, the questions are what admins made of them.
    seed_questions(session, bank.all_questions(), now)
    versions = current_versions(session)
    live_bank = with_questions(bank, active_questions(session))
    pulse = insert_round(session, team.id, day, closing, team.anonymity_threshold)
    if pulse is None:
        return None  # another process opened it
    rotation = RotationSettings(questions_per_pulse=team.questions_per_pulse)
    plan = plan_round(
        [member_id for member_id, _tz in members],
        team.anonymity_threshold,
        live_bank,
        rotation,
        pulse.number,
        f"team-{team.id}",
        member_history(session, team.id, HISTORY_ROUNDS),
    )
    save_round_plan(
        session,
        pulse.id,
        {group: [versions[key].id for key in keys] for group, keys in plan.questions.items()},
        [(member_id, plan.group_of[member_id], due[member_id]) for member_id, _tz in members],
    )
    return OpenedRound(team.name, pulse.id, pulse.number, len(members), len(plan.questions))


def _time_of(minute: int) -> time:
    return time(minute // 60, minute % 60)
