"""Teams whose membership follows a Slack user group or channel, and the digest channels' health.

Functions take a Session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import Member, Team, TeamMember
from storage.upsert import insert_for

MANUAL = "manual"
# Bound parameters per IN list: far below SQLite's 32,766 and PostgreSQL's 65,535, so a channel of
# tens of thousands still works, while one query covers every channel of ordinary size.
IN_CHUNK = 10_000

T = TypeVar("T")


def linked_teams(session: Session) -> list[Team]:
    """Every team that follows a user group or a channel, in id order."""
    return list(session.scalars(select(Team).where(Team.source_kind != MANUAL).order_by(Team.id)))


def teams_following(session: Session, kind: str, source_id: str) -> list[int]:
    """Ids of the teams whose membership follows the given user group or channel."""
    query = select(Team.id).where(Team.source_kind == kind, Team.source_id == source_id).order_by(Team.id)
    return list(session.scalars(query))


class DirectoryEntry(NamedTuple):
    member_id: int
    can_join: bool  # a human still in the workspace: bots and deleted people are never team members


def directory_users(session: Session, slack_user_ids: Iterable[str]) -> dict[str, DirectoryEntry]:
    """The directory's entries for those of these Slack users it knows (one query per 10,000 ids)."""
    entries: dict[str, DirectoryEntry] = {}
    for chunk in _chunks(list(dict.fromkeys(slack_user_ids))):
        rows = session.execute(
            select(Member.slack_user_id, Member.id, Member.is_bot, Member.is_deleted).where(
                Member.slack_user_id.in_(chunk)
            )
        )
        for slack_id, member_id, is_bot, is_deleted in rows:
            entries[slack_id] = DirectoryEntry(member_id, not is_bot and not is_deleted)
    return entries


def team_follows(session: Session, team_id: int, kind: str, source_id: str) -> bool:
    query = select(Team.id).where(Team.id == team_id, Team.source_kind == kind, Team.source_id == source_id)
    return session.scalar(query) is not None


def team_member_ids(session: Session, team_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.member_id).where(TeamMember.team_id == team_id)))


def replace_team_members(session: Session, team_id: int, member_ids: Iterable[int]) -> tuple[int, int]:
    """Make the team's members exactly `member_ids`, touching only the rows that change; (added, removed)."""
    wanted = set(member_ids)
    current = team_member_ids(session, team_id)
    added = wanted - current
    removed = current - wanted
    if added:
        statement = insert_for(session, TeamMember.__table__).on_conflict_do_nothing()
        session.execute(statement, [{"team_id": team_id, "member_id": m} for m in sorted(added)])
    for chunk in _chunks(sorted(removed)):
        session.execute(delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.member_id.in_(chunk)))
    return len(added), len(removed)


def add_members_to_teams(session: Session, team_ids: Sequence[int], member_ids: Sequence[int]) -> int:
    """Add each member to each team (already there: nothing happens); returns the rows added."""
    teams = sorted(set(team_ids))
    members = sorted(set(member_ids))
    if not teams or not members:
        return 0
    present: set[tuple[int, int]] = set()
    for chunk in _chunks(members):
        query = select(TeamMember.team_id, TeamMember.member_id).where(
            TeamMember.team_id.in_(teams), TeamMember.member_id.in_(chunk)
        )
        present.update((team_id, member_id) for team_id, member_id in session.execute(query))
    rows = [{"team_id": t, "member_id": m} for t in teams for m in members if (t, m) not in present]
    if rows:
        # ON CONFLICT: an event and the daily sync may add the same person at the same moment.
        session.execute(insert_for(session, TeamMember.__table__).on_conflict_do_nothing(), rows)
    return len(rows)


def remove_members_from_teams(session: Session, team_ids: Sequence[int], member_ids: Sequence[int]) -> int:
    """Take each member out of each team; returns the rows removed."""
    if not team_ids or not member_ids:
        return 0
    removed = 0
    for chunk in _chunks(list(dict.fromkeys(member_ids))):
        result = session.execute(
            delete(TeamMember).where(TeamMember.team_id.in_(list(team_ids)), TeamMember.member_id.in_(chunk))
        )
        removed += result.rowcount or 0
    return removed


def set_source_synced(session: Session, team_id: int, now: datetime) -> None:
    session.execute(update(Team).where(Team.id == team_id).values(source_synced_at=now))


def digest_channels(session: Session) -> list[str]:
    """Every channel some team posts its digest to, once each."""
    query = select(Team.channel_id).where(Team.channel_id.is_not(None)).distinct().order_by(Team.channel_id)
    return [channel for channel in session.scalars(query) if channel]


def set_channel_ok(session: Session, channel_id: str, ok: bool) -> int:
    """Record whether Tandem can post to the channel, for every team whose digest goes there; teams changed."""
    result = session.execute(
        update(Team).where(Team.channel_id == channel_id, Team.channel_ok != ok).values(channel_ok=ok)
    )
    return result.rowcount or 0


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
