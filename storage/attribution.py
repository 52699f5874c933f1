"""Which team each helpdesk outcome counts for, decided when events are read, never when stored.

So a group or agent mapping added later attributes the events that came before it too. Every join here is
on equality (an email, a group key, a provider's agent id), so the database can use an index or build
one: attribution costs one pass over the events in the window, however many members and teams there are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, func, select, union_all
from sqlalchemy.orm import aliased

from storage.models import HelpdeskAgent, HelpdeskAgentId, HelpdeskEvent, HelpdeskGroup, Member, TeamMember


def event_teams(since: datetime | None = None, until: datetime | None = None, *columns: Any) -> CompoundSelect[Any]:
    """(event id, team id, *columns of the event) for every event a team is credited with: its helpdesk
    group's team when the group is mapped, otherwise every team of the agent (by email, or by a provider
    id learned earlier; an explicit `/pulse helpdesk map` wins over the directory's email). `columns`
    (HelpdeskEvent columns) come along so a caller need not join the events again."""
    window = []
    if since is not None:
        window.append(HelpdeskEvent.occurred_at >= since)
    if until is not None:
        window.append(HelpdeskEvent.occurred_at < until)
    by_group = (
        select(HelpdeskEvent.id.label("event_id"), HelpdeskGroup.team_id.label("team_id"), *columns)
        .join(HelpdeskGroup, HelpdeskGroup.name_key == HelpdeskEvent.group_key)
        .where(*window)
    )
    emails = _member_by_email().subquery()
    learned = aliased(HelpdeskAgentId)
    mapped_group = aliased(HelpdeskGroup)
    email = func.coalesce(HelpdeskEvent.agent_email, learned.email)
    by_agent = (
        select(HelpdeskEvent.id.label("event_id"), TeamMember.team_id.label("team_id"), *columns)
        .outerjoin(learned, (learned.provider == HelpdeskEvent.provider) & (learned.agent_id == HelpdeskEvent.agent_id))
        .outerjoin(mapped_group, mapped_group.name_key == HelpdeskEvent.group_key)
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
