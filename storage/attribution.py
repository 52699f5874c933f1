"""Which team each helpdesk outcome counts for, decided when events are read, never when stored.

So a group or agent mapping added later attributes the events that came before it too. Every join here is
on equality (an email, a group key, a provider's agent id), so the database can use an index or build
one: attribution costs one pass over the events in the window, however many members and teams there are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, CompoundSelect, Table, func, select, union_all
from sqlalchemy.orm import aliased

from storage.models import (
    HelpdeskAgent,
    HelpdeskAgentId,
    HelpdeskEvent,
    HelpdeskGroup,
    HelpdeskWeek,
    Member,
    TeamMember,
)


def event_teams(
    since: datetime | BindParameter[datetime] | None = None, until: datetime | None = None, *columns: Any
) -> CompoundSelect[Any]:
    """(event id, team id, *columns of the event) for every event a team is credited with: its helpdesk
    group's team when the group is mapped, otherwise every team of the agent (by email, or by a provider
    id learned earlier; an explicit `/pulse helpdesk map` wins over the directory's email). `columns`
    (HelpdeskEvent columns) come along so a caller need not join the events again."""
    window = []
    if since is not None:
        window.append(HelpdeskEvent.occurred_at >= since)
    if until is not None:
        window.append(HelpdeskEvent.occurred_at < until)
    event = HelpdeskEvent.__table__
    return credited_teams(event, window, event.c.id.label("event_id"), *columns)


def week_teams(first_week: int, end_week: int, *columns: Any) -> CompoundSelect[Any]:
    """(team id, *columns of storage.models.HelpdeskWeek) for the weekly sums of weeks [first, end) that
    a team is credited with, by the same rules as `event_teams`."""
    weeks = HelpdeskWeek.__table__
    return credited_teams(weeks, [weeks.c.week >= first_week, weeks.c.week < end_week], *columns)


def credited_teams(source: Table, window: list[ColumnElement[bool]], *columns: Any) -> CompoundSelect[Any]:
    """(*columns, team id) for every row of `source` (a table of provider, group_key, agent_email and
    agent_id columns, where '' counts as missing) within `window`, once per team credited with it."""
    group_key, agent_email = func.nullif(source.c.group_key, ""), func.nullif(source.c.agent_email, "")
    by_group = (
        select(*columns, HelpdeskGroup.team_id.label("team_id"))
        .join_from(source, HelpdeskGroup, HelpdeskGroup.name_key == group_key)
        .where(*window)
    )
    emails = _member_by_email().subquery()
    learned = aliased(HelpdeskAgentId)
    mapped_group = aliased(HelpdeskGroup)
    email = func.coalesce(agent_email, learned.email)
    by_agent = (
        select(*columns, TeamMember.team_id.label("team_id"))
        .select_from(source)
        .outerjoin(learned, (learned.provider == source.c.provider) & (learned.agent_id == source.c.agent_id))
        .outerjoin(mapped_group, mapped_group.name_key == group_key)
        .join(emails, emails.c.email == email)
        .join(TeamMember, TeamMember.member_id == emails.c.member_id)
        .where(*window, mapped_group.name_key.is_(None))
    )
    # Disjoint halves (by_agent skips mapped groups) without duplicates: no need to sort them for a UNION.
    return union_all(by_group, by_agent)


def _member_by_email() -> Any:
    """email -> member: the explicit agent mappings, and every other member by their directory email."""
    mapped = select(HelpdeskAgent.email.label("email"), HelpdeskAgent.member_id.label("member_id"))
    # One member per email (the directory does not promise unique emails), so no event counts twice.
    directory = (
        select(func.lower(Member.email).label("email"), func.min(Member.id).label("member_id"))
        .where(Member.email.is_not(None), func.lower(Member.email).not_in(select(HelpdeskAgent.email)))
        .group_by(func.lower(Member.email))
    )
    return union_all(mapped, directory)
