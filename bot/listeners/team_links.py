"""Keep linked teams in step with their user group or channel between daily syncs, and notice when
Tandem is added to or removed from a digest channel.

Slack sends member_joined_channel / member_left_channel only for channels Tandem is in, so a team
following a channel Tandem is not in changes with the daily sync alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.listeners.events import EventContext, EventTable
from jobs.membership import SlackMembership
from jobs.team_links import (
    CHANNEL,
    USERGROUP,
    follow_membership_change,
    follow_source_snapshot,
    record_channel_ok,
    resync_source,
)
from storage.db import SessionFactory

log = logging.getLogger(__name__)


def register(
    events: EventTable, factory: SessionFactory, clock: Callable[[], datetime], slack: SlackMembership
) -> None:
    def channel_membership(joined: bool) -> Callable[[dict[str, Any], EventContext], None]:
        def handle(event: dict[str, Any], context: EventContext) -> None:
            user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
            if not user or not channel:
                return
            if user == context.bot_user_id:
                record_channel_ok(factory, channel, joined)
                return
            changed = ([user], []) if joined else ([], [user])
            follow_membership_change(factory, slack, CHANNEL, channel, *changed, clock())

        return handle

    def subteam_members_changed(event: dict[str, Any], _context: EventContext) -> None:
        subteam = str(event.get("subteam_id") or "")
        if subteam:
            added = [str(u) for u in event.get("added_users") or []]
            removed = [str(u) for u in event.get("removed_users") or []]
            follow_membership_change(factory, slack, USERGROUP, subteam, added, removed, clock())

    def subteam_updated(event: dict[str, Any], _context: EventContext) -> None:
        subteam = event.get("subteam") or {}
        subteam_id, users = str(subteam.get("id") or ""), subteam.get("users")
        if not subteam_id or users is None:
            return  # a new name or handle: the members are as they were
        if subteam.get("date_delete"):
            log.info("user group %s was disabled; its teams keep their members", subteam_id)
            return
        if _count(subteam.get("user_count"), len(users)) > len(users):
            # Slack cuts the list at 500 people: read the whole group instead.
            resync_source(factory, slack, USERGROUP, subteam_id, clock())
        else:
            follow_source_snapshot(factory, slack, USERGROUP, subteam_id, [str(u) for u in users], clock())

    events.on("member_joined_channel", channel_membership(joined=True))
    events.on("member_left_channel", channel_membership(joined=False))
    events.on("subteam_members_changed", subteam_members_changed)
    events.on("subteam_updated", subteam_updated)


def _count(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default
