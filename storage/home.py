"""What the App Home shows, read in a handful of grouped queries (published within 1 s at 20,000 members).

Functions take a Session; the caller owns the transaction. The member's own part reads the
participation ledger (deliveries) and never the answers table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from storage.home_records import (
    NO_HISTORY,
    REACHED,
    AdminOverview,
    HomeModel,
    OnboardingStep,
    ParticipationHistory,
    RoundParticipation,
    outcome_of,
)
from storage.members import is_tandem_admin, member_named
from storage.models import (
    AuditEntry,
    Delivery,
    HelpdeskAgent,
    HelpdeskGroup,
    Member,
    PulseRound,
    Team,
    TeamMember,
)
from storage.panel_data import answer_sums, week_monday
from storage.status import configuration_problems
from storage.workspace import default_threshold

HISTORY_ROUNDS = 10


def home_model(session: Session, slack_user_id: str) -> HomeModel:
    """Everything the Home shows but the managers' part, which stays empty here: storage does not decide
    what a manager may see. bot.home.home_for adds it from `managed_rounds`, through jobs.home_summary."""
    member = member_named(session, slack_user_id)
    teams: list[tuple[str, int]] = []
    if member is not None:
        query = select(Team.name, Team.anonymity_threshold).join(TeamMember, TeamMember.team_id == Team.id)
        rows = session.execute(query.where(TeamMember.member_id == member.id).order_by(Team.name))
        teams = [(name, k) for name, k in rows]
    # The weakest promise that applies to the member is the honest one to show.
    threshold = min(k for _name, k in teams) if teams else default_threshold(session)
    return HomeModel(
        slack_user_id=slack_user_id,
        in_directory=member is not None,
        opted_out=bool(member and member.opted_out),
        teams=tuple(name for name, _k in teams),
        threshold=threshold,
        history=participation_history(session, member.id) if member is not None else NO_HISTORY,
        admin=admin_overview(session) if is_tandem_admin(member) else None,
    )


def participation_history(session: Session, member_id: int, limit: int = HISTORY_ROUNDS) -> ParticipationHistory:
    """The member's latest `limit` rounds and their totals over all rounds: asked, answered, skipped."""
    rows = session.execute(
        select(
            Team.name, PulseRound.opened_on, PulseRound.closed_at, Delivery.status, Delivery.answered, Delivery.skipped
        )
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .join(Team, Team.id == PulseRound.team_id)
        .where(Delivery.member_id == member_id)
        .order_by(PulseRound.opened_on.desc(), Delivery.id.desc())
        .limit(limit)
    ).all()
    rounds = tuple(
        RoundParticipation(name, opened_on, outcome_of(status, answered, skipped), status, closed_at is None)
        for name, opened_on, closed_at, status, answered, skipped in rows
    )
    reached = or_(Delivery.status.in_(REACHED), Delivery.answered.is_(True), Delivery.skipped.is_(True))
    total, asked, answered, skipped = session.execute(
        select(
            func.count(),
            _count_where(reached),
            _count_where(Delivery.answered.is_(True)),
            _count_where(and_(Delivery.skipped.is_(True), Delivery.answered.is_(False))),
        ).where(Delivery.member_id == member_id)
    ).one()
    return ParticipationHistory(rounds, total, asked or 0, answered or 0, skipped or 0)


def delete_participation(session: Session, slack_user_id: str) -> int:
    """Delete the member's ledger, open round included; returns the rows deleted.

    Their answers and comments stay in the team's results: the foreign key's ON DELETE SET NULL
    unlinks them, so from now on nobody can tell they were the member's.
    """
    member_id = select(Member.id).where(Member.slack_user_id == slack_user_id).scalar_subquery()
    return session.execute(delete(Delivery).where(Delivery.member_id == member_id)).rowcount or 0


@dataclass(frozen=True)
class ManagedRounds:
    """The raw results of the teams a user manages, NOT yet fit to show: jobs.home_summary publishes them
    through the anonymity engine (jobs/anonymity.py), as the digest does. Frames shaped as
    storage.panel_data.PanelData's, for jobs.panel.build_panel:

    teams: team_id, name, k (every team the user manages, by name);
    rounds: round_id, team_id, week (its Monday), opened_on, k, asked, respondents: each team's closed
        rounds of the week of its latest closed round (the digest's team-week cell);
    answers: round_id, question_key, driver, scale, n, total, total_sq, promoters, detractors: only for
        team-weeks where at least k people answered, so a hidden week's values never leave the database.
    """

    teams: pd.DataFrame
    rounds: pd.DataFrame
    answers: pd.DataFrame


def managed_rounds(session: Session, slack_user_id: str) -> ManagedRounds:
    """What the user's managed teams' latest closed week holds, in four grouped queries whatever the teams."""
    latest = (
        select(PulseRound.team_id, func.max(PulseRound.opened_on).label("opened_on"))
        .where(PulseRound.closed_at.is_not(None))
        .group_by(PulseRound.team_id)
        .subquery()
    )
    teams = session.execute(
        select(Team.id, Team.name, Team.anonymity_threshold, latest.c.opened_on)
        .outerjoin(latest, latest.c.team_id == Team.id)
        .where(Team.manager_user_id == slack_user_id)
        .order_by(Team.name)
    ).all()
    mondays = {team_id: week_monday(opened) for team_id, _name, _k, opened in teams if opened is not None}
    rounds: list[tuple[Any, ...]] = []
    if mondays:
        candidates = session.execute(
            select(PulseRound.id, PulseRound.team_id, PulseRound.opened_on, PulseRound.anonymity_threshold)
            .add_columns(PulseRound.respondents)
            .where(
                PulseRound.team_id.in_(list(mondays)),
                PulseRound.closed_at.is_not(None),
                PulseRound.opened_on >= min(mondays.values()),
            )
        ).all()
        rounds = [row for row in candidates if week_monday(row[2]) == mondays[row[1]]]
    # The ledger as storage.panel_data counts it: asked = DMs that reached someone (closed with the
    # round), respondents = those answered; imported rounds have no ledger, only their respondents.
    ledger = {
        round_id: (asked, answered)
        for round_id, asked, answered in (
            session.execute(
                select(Delivery.round_id, func.count(), _count_where(Delivery.answered.is_(True)))
                .where(Delivery.round_id.in_([row[0] for row in rounds]), Delivery.status == "closed")
                .group_by(Delivery.round_id)
            )
            if rounds
            else ()
        )
    }
    round_rows = []
    for round_id, team_id, opened_on, k, imported_respondents in rounds:
        asked, answered = ledger.get(round_id, (None, None))
        respondents = answered if answered is not None else (imported_respondents or 0)
        round_rows.append((round_id, team_id, pd.Timestamp(mondays[team_id]), opened_on, k, asked, respondents))
    round_frame = pd.DataFrame(
        round_rows, columns=["round_id", "team_id", "week", "opened_on", "k", "asked", "respondents"]
    )
    week = round_frame.groupby("team_id").agg(k=("k", "max"), respondents=("respondents", "sum"))
    shown = set(week.index[week["respondents"] >= week["k"]])
    shown_rounds = [r[0] for r in round_rows if r[1] in shown]
    return ManagedRounds(
        teams=pd.DataFrame([(t, name, k) for t, name, k, _opened in teams], columns=["team_id", "name", "k"]),
        rounds=round_frame,
        answers=answer_sums(session, shown_rounds),
    )


def admin_overview(session: Session) -> AdminOverview:
    teams, paused = session.execute(select(func.count(), _count_where(Team.paused.is_(True)))).one()
    members = session.scalar(select(func.count()).select_from(Member).where(Member.active.is_(True))) or 0
    return AdminOverview(
        teams or 0, paused or 0, members, tuple(configuration_problems(session)), tuple(onboarding_steps(session))
    )


def onboarding_steps(session: Session) -> list[OnboardingStep]:
    """The first-install checklist; each step's done-ness comes from the database, in one query."""
    synced, team, channel, schedule, helpdesk = session.execute(
        select(
            select(func.count()).select_from(select(Member.id).limit(2).subquery()).scalar_subquery() > 1,
            select(Team.id).exists(),
            select(Team.id).where(Team.channel_id.is_not(None)).exists(),
            select(AuditEntry.id).where(AuditEntry.action == "schedule").exists(),
            or_(select(HelpdeskAgent.email).exists(), select(HelpdeskGroup.name_key).exists()),
        )
    ).one()
    return [
        OnboardingStep("Sync users", bool(synced), "Run `tandem users sync` on the server (it also runs every night)."),
        OnboardingStep("Create a team", bool(team), "`/pulse team create NAME`"),
        OnboardingStep("Set its channel", bool(channel), "`/pulse team channel NAME #channel`"),
        OnboardingStep("Pick a schedule", bool(schedule), "`/pulse schedule NAME weekly tue 10:00`"),
        OnboardingStep("Connect a helpdesk", bool(helpdesk), '`/pulse helpdesk group "Group name" NAME`'),
    ]


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    # SUM(CASE …) rather than COUNT(*) FILTER: the same SQL on SQLite and PostgreSQL.
    return func.sum(case((condition, 1), else_=0))
