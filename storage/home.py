"""What the App Home shows, read in a handful of grouped queries (published within 1 s at 20,000 members).

Functions take a Session; the caller owns the transaction. The member's own part reads the
participation ledger (deliveries) and never the answers table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from storage.home_records import (
    NO_HISTORY,
    REACHED,
    AdminOverview,
    DriverAverage,
    HomeModel,
    ManagerSummary,
    OnboardingStep,
    ParticipationHistory,
    RoundParticipation,
    outcome_of,
    problem_line,
)
from storage.members import is_tandem_admin, member_named
from storage.models import (
    Answer,
    AuditEntry,
    Delivery,
    HelpdeskAgent,
    HelpdeskGroup,
    Member,
    PulseRound,
    QuestionVersion,
    Team,
    TeamMember,
)
from storage.workspace import default_threshold

HISTORY_ROUNDS = 10
MAX_PROBLEMS = 50
ENPS_SCALE = "enps"


def home_model(session: Session, slack_user_id: str) -> HomeModel:
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
        managed=tuple(manager_summaries(session, slack_user_id)),
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


def manager_summaries(session: Session, slack_user_id: str) -> list[ManagerSummary]:
    """Each team the user manages: its latest closed round, with results only when at least k answered."""
    managed = select(Team.id).where(Team.manager_user_id == slack_user_id)
    latest = (
        select(PulseRound.team_id, func.max(PulseRound.number).label("number"))
        .where(PulseRound.team_id.in_(managed), PulseRound.closed_at.is_not(None))
        .group_by(PulseRound.team_id)
        .subquery()
    )
    rows = session.execute(
        select(Team.name, PulseRound.id, PulseRound.opened_on, PulseRound.anonymity_threshold)
        .outerjoin(latest, latest.c.team_id == Team.id)
        .outerjoin(PulseRound, and_(PulseRound.team_id == Team.id, PulseRound.number == latest.c.number))
        .where(Team.manager_user_id == slack_user_id)
        .order_by(Team.name)
    ).all()
    round_ids = [round_id for _name, round_id, _opened, _k in rows if round_id is not None]
    counts = {
        round_id: (asked or 0, answered or 0)
        for round_id, asked, answered in session.execute(
            select(
                Delivery.round_id,
                _count_where(or_(Delivery.status.in_(REACHED), Delivery.answered.is_(True))),
                _count_where(Delivery.answered.is_(True)),
            )
            .where(Delivery.round_id.in_(round_ids))
            .group_by(Delivery.round_id)
        )
    }
    # Averages are read only for rounds that may show them: a hidden round's values never leave the database.
    thresholds = {round_id: k for _name, round_id, _opened, k in rows if round_id is not None}
    shown = [r for r in round_ids if counts.get(r, (0, 0))[1] >= thresholds[r]]
    results = _round_results(session, shown, thresholds)
    summaries = []
    for name, round_id, opened_on, k in rows:
        if round_id is None:
            summaries.append(ManagerSummary(name, None, 0, 0, 0))
            continue
        asked, answered = counts.get(round_id, (0, 0))
        drivers, enps = results.get(round_id, ((), None))
        summaries.append(ManagerSummary(name, opened_on, k, asked, answered, drivers, enps))
    return summaries


def _round_results(
    session: Session, round_ids: list[int], thresholds: dict[int, int]
) -> dict[int, tuple[tuple[DriverAverage, ...], int | None]]:
    if not round_ids:
        return {}
    rows = session.execute(
        select(
            Answer.round_id,
            QuestionVersion.driver,
            QuestionVersion.scale,
            func.avg(Answer.value),
            func.count(Answer.value),
            _count_where(Answer.value >= 9),
            _count_where(Answer.value <= 6),
        )
        .join(QuestionVersion, QuestionVersion.id == Answer.question_id)
        .where(Answer.round_id.in_(round_ids), Answer.value.is_not(None))
        .group_by(Answer.round_id, QuestionVersion.driver, QuestionVersion.scale)
        .order_by(Answer.round_id, QuestionVersion.driver)
    ).all()
    drivers: dict[int, list[DriverAverage]] = {}
    enps: dict[int, int] = {}
    for round_id, driver, scale, average, answers, promoters, detractors in rows:
        # Closing a round already drops cells under k; this guards rows that came in another way (imports).
        if answers < thresholds[round_id]:
            continue
        if scale == ENPS_SCALE:  # 0-10: a score of its own, not an average beside the 1-5 drivers
            enps[round_id] = round(100 * ((promoters or 0) - (detractors or 0)) / answers)
        else:
            drivers.setdefault(round_id, []).append(DriverAverage(driver, float(average), answers))
    return {r: (tuple(drivers.get(r, ())), enps.get(r)) for r in round_ids}


def admin_overview(session: Session) -> AdminOverview:
    teams, paused = session.execute(select(func.count(), _count_where(Team.paused.is_(True)))).one()
    members = session.scalar(select(func.count()).select_from(Member).where(Member.active.is_(True))) or 0
    return AdminOverview(
        teams or 0, paused or 0, members, tuple(configuration_problems(session)), tuple(onboarding_steps(session))
    )


def team_health(session: Session) -> list[Any]:
    """Every team's name, schedule columns, digest channel, manager, k, and how many of its people can
    answer (active, not opted out), by name: one grouped query, fast with 1,000 teams and 20,000 members."""
    reachable = (
        select(TeamMember.team_id, func.count().label("people"))
        .join(Member, Member.id == TeamMember.member_id)
        .where(Member.active.is_(True), Member.opted_out.is_(False))
        .group_by(TeamMember.team_id)
        .subquery()
    )
    return list(
        session.execute(
            select(
                Team.name,
                Team.paused,
                Team.pulse_weekday,
                Team.window_start_minute,
                Team.window_end_minute,
                Team.every_weeks,
                Team.working_days,
                Team.reminder_after_days,
                Team.close_after_days,
                Team.created_at,
                Team.channel_id,
                Team.channel_ok,
                Team.manager_user_id,
                Team.anonymity_threshold,
                func.coalesce(reachable.c.people, 0).label("people"),
            )
            .outerjoin(reachable, reachable.c.team_id == Team.id)
            .order_by(Team.name)
        )
    )


def configuration_problems(session: Session, limit: int = MAX_PROBLEMS, teams: list[Any] | None = None) -> list[str]:
    """One Slack mrkdwn line per team that is set up so it cannot work, then "… and N more" past `limit`.

    `teams`: rows of `team_health`, when the caller has them already.
    """
    rows = team_health(session) if teams is None else teams
    lines = [
        line
        for row in rows
        if (
            line := problem_line(
                row.name, row.channel_id, row.channel_ok, row.manager_user_id, row.anonymity_threshold, row.people
            )
        )
        is not None
    ]
    if len(lines) > limit:
        return [*lines[:limit], f"… and {len(lines) - limit} more teams with problems"]
    return lines


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
