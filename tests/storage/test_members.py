from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from jobs.members import member_from_slack
from storage.db import make_session_factory, transaction
from storage.members import count_members, upsert_members
from storage.models import Member
from storage.records import MemberRecord
from tests.slack_standin import make_user

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def records(*indexes: int) -> list[MemberRecord]:
    return [r for r in (member_from_slack(make_user(i)) for i in indexes) if r is not None]


def test_it_creates_members_then_updates_only_those_that_changed(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert upsert_members(session, records(1, 2, 3), NOW) == (3, 0)
    later = NOW + timedelta(days=1)
    changed = [replace(records(1)[0], tz="Asia/Tokyo"), *records(2, 3, 4)]
    with transaction(factory) as session:
        assert upsert_members(session, changed, later) == (1, 1)
    with factory() as session:
        rows = {m.slack_user_id: m for m in session.scalars(select(Member))}
    assert rows["U00000001"].tz == "Asia/Tokyo"
    assert rows["U00000001"].updated_at.replace(tzinfo=UTC) == later
    assert rows["U00000002"].updated_at.replace(tzinfo=UTC) == NOW
    assert len(rows) == 4


def test_it_never_overwrites_a_members_own_opt_out(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        upsert_members(session, records(1), NOW)
        session.execute(Member.__table__.update().values(opted_out=True))
    with transaction(factory) as session:
        upsert_members(session, [replace(records(1)[0], real_name="Renamed")], NOW)
    with factory() as session:
        member = session.scalars(select(Member)).one()
    assert (member.real_name, member.opted_out) == ("Renamed", True)


def test_it_counts_active_members_apart_from_deleted_ones(engine: Engine) -> None:
    factory = make_session_factory(engine)
    deleted = member_from_slack(make_user(9, deleted=True))
    assert deleted is not None
    with transaction(factory) as session:
        upsert_members(session, [*records(1, 2), deleted], NOW)
    with factory() as session:
        assert (count_members(session), count_members(session, active_only=True)) == (3, 2)
