"""Member directory repository. Functions take a Session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Member
from storage.records import MemberRecord
from storage.upsert import insert_for

# Columns the directory sync owns; opted_out and team membership belong to the member and admins.
SYNCED_COLUMNS = ("name", "real_name", "email", "tz", "is_admin", "is_owner", "is_guest", "is_deleted", "active")


def upsert_members(session: Session, records: Sequence[MemberRecord], now: datetime) -> tuple[int, int]:
    """Insert new members and update changed ones; returns (created, updated). Unchanged rows are untouched."""
    if not records:
        return 0, 0
    ids = [r.slack_user_id for r in records]
    existing = set(session.scalars(select(Member.slack_user_id).where(Member.slack_user_id.in_(ids))))
    rows = [
        {**asdict(r), "active": r.active, "created_at": now, "updated_at": now, "is_bot": False, "opted_out": False}
        for r in records
    ]
    table = Member.__table__
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.slack_user_id],
        set_={**{c: statement.excluded[c] for c in SYNCED_COLUMNS}, "updated_at": statement.excluded.updated_at},
        where=or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in SYNCED_COLUMNS)),
    ).returning(table.c.slack_user_id)
    changed = len(session.execute(statement, rows).all())
    created = len(set(ids) - existing)
    return created, max(changed - created, 0)


def count_members(session: Session, *, active_only: bool = False) -> int:
    query = select(func.count()).select_from(Member)
    if active_only:
        query = query.where(Member.active.is_(True))
    return session.scalar(query) or 0


def set_opted_out(session: Session, slack_user_id: str, opted_out: bool) -> bool:
    """Record the member's choice; False when the directory does not know them."""
    result = session.execute(update(Member).where(Member.slack_user_id == slack_user_id).values(opted_out=opted_out))
    return bool(result.rowcount)


def member_named(session: Session, slack_user_id: str) -> Member | None:
    return session.scalars(select(Member).where(Member.slack_user_id == slack_user_id)).first()


def is_tandem_admin(member: Member | None) -> bool:
    """Workspace admins and owners, and members added with `/pulse admin add`."""
    return member is not None and not member.is_deleted and (member.is_admin or member.is_owner or member.tandem_admin)


def member_ids_of(session: Session, slack_user_ids: Sequence[str]) -> dict[str, int]:
    """Directory ids of the given Slack users that the directory knows."""
    if not slack_user_ids:
        return {}
    rows = session.execute(select(Member.slack_user_id, Member.id).where(Member.slack_user_id.in_(slack_user_ids)))
    return {slack_id: member_id for slack_id, member_id in rows}


def record_opt_choice(session: Session, slack_user_id: str, name: str, opted_out: bool, now: datetime) -> None:
    """Opt out or in; someone not synced yet is stored now with the choice (the directory sync fills in the rest)."""
    if not set_opted_out(session, slack_user_id, opted_out):
        record = MemberRecord(slack_user_id, name, name, None, "UTC", False, False, False, False)
        upsert_members(session, [record], now)
        set_opted_out(session, slack_user_id, opted_out)
