"""The status queries: team sizes count only who can answer, and the few who cannot come from an index."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Member, Team, TeamMember
from storage.status import _UNREACHABLE, workspace_health

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def add_member(session: Session, n: int, active: bool = True, opted_out: bool = False) -> Member:
    member = Member(
        slack_user_id=f"U{n:08d}", name=f"m{n}", active=active, opted_out=opted_out, created_at=NOW, updated_at=NOW
    )
    session.add(member)
    return member


def test_team_sizes_leave_out_who_left_and_who_opted_out(engine: Engine) -> None:
    with transaction(make_session_factory(engine)) as session:
        team = Team(name="Support", created_at=NOW)
        session.add(team)
        members = [add_member(session, 1), add_member(session, 2, active=False), add_member(session, 3, opted_out=True)]
        members.append(add_member(session, 4))
        session.flush()
        session.add_all([TeamMember(team_id=team.id, member_id=m.id) for m in members])
    with transaction(make_session_factory(engine)) as session:
        health = workspace_health(session)
    assert [(t.name, t.people) for t in health.teams] == [("Support", 2)]
    assert health.active_members == 3


def test_sqlite_finds_who_cannot_answer_through_the_partial_index(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with engine.connect() as connection:
        plan = connection.execute(text(f"EXPLAIN QUERY PLAN {_UNREACHABLE.compile(engine)}")).all()
    assert any("ix_members_unreachable" in row[-1] for row in plan), plan
    engine.dispose()
