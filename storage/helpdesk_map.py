"""Which helpdesk agents and groups count for which Tandem teams. The caller owns the transaction."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HelpdeskAgent, HelpdeskGroup, Member, Team
from storage.upsert import insert_for


@lru_cache(maxsize=1024)
def group_key(name: str) -> str:
    """Helpdesks differ in capitals and spacing of the same group name; the key does not. Remembered: every
    webhook names one of a helpdesk's few groups."""
    return _SPACES.sub(" ", name).strip().casefold()


_SPACES = re.compile(r"\s+")


def map_agent(session: Session, email: str, member_id: int, now: datetime) -> None:
    table = HelpdeskAgent.__table__
    statement = insert_for(session, table).values(email=email.lower(), member_id=member_id, created_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.email], set_={"member_id": member_id}))


def map_group(session: Session, name: str, team_id: int, now: datetime) -> None:
    table = HelpdeskGroup.__table__
    statement = insert_for(session, table).values(name_key=group_key(name), name=name, team_id=team_id, created_at=now)
    session.execute(
        statement.on_conflict_do_update(index_elements=[table.c.name_key], set_={"team_id": team_id, "name": name})
    )


def mapped_agents(session: Session) -> list[tuple[str, str]]:
    """(email, Slack user id) of every mapped agent."""
    rows = session.execute(
        select(HelpdeskAgent.email, Member.slack_user_id)
        .join(Member, Member.id == HelpdeskAgent.member_id)
        .order_by(HelpdeskAgent.email)
    )
    return [(email, user) for email, user in rows]


def mapped_groups(session: Session) -> list[tuple[str, str]]:
    """(group name, team name) of every mapped helpdesk group."""
    rows = session.execute(
        select(HelpdeskGroup.name, Team.name).join(Team, Team.id == HelpdeskGroup.team_id).order_by(HelpdeskGroup.name)
    )
    return [(group, team) for group, team in rows]
