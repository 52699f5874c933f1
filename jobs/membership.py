"""Jobs' port to Slack's people, channels and user groups (bot.slack_membership implements it), and learning
the people the directory does not know yet from Slack (users.info), a few at a time.

Lookups run before a transaction (a command, a sync), so no lock is held while Slack answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from jobs.members import SLACKBOT_ID, member_from_slack
from storage.db import SessionFactory, transaction
from storage.members import upsert_members
from storage.records import MemberRecord
from storage.team_links import directory_users

log = logging.getLogger(__name__)

LOOKUP_THREADS = 8  # users.info is Tier 4 (about 100 a minute, bursts allowed)
COMMAND_LOOKUPS = 40  # what one slash command may look up: a never-synced workspace runs `tandem users sync`


# -- the port -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelCheck:
    """Whether Tandem can post to a channel: it exists, is not archived, and Tandem is in it."""

    ok: bool
    name: str
    problem: str  # one line for an admin; "" when ok


class LinkSourceMissing(Exception):
    """The user group or channel is gone, disabled, or hidden from Tandem. The message says which, in one line."""


class MembershipUnavailable(Exception):
    """Slack could not answer now (network, server error, rate limit after retries, a missing scope)."""


class SlackMembership(Protocol):
    def usergroup_members(self, usergroup_id: str) -> list[str]:
        """Slack user ids in the user group; raises LinkSourceMissing, MembershipUnavailable."""
        ...

    def channel_members(self, channel_id: str) -> list[str]:
        """Slack user ids in the channel, every page; raises LinkSourceMissing, MembershipUnavailable."""
        ...

    def channel_check(self, channel_id: str) -> ChannelCheck:
        """Raises MembershipUnavailable only when Slack gave no answer; a missing channel is a failed check."""
        ...

    def user_profile(self, user_id: str) -> dict[str, Any] | None:
        """The users.info user object, or None when Slack does not know the user."""
        ...


def look_up_unknown(
    factory: SessionFactory, slack: SlackMembership, user_ids: Iterable[str], limit: int
) -> tuple[list[MemberRecord], int]:
    """Profiles of the people the directory does not know yet (bots come back as nothing); (records, looked up)."""
    wanted = [u for u in dict.fromkeys(user_ids) if u and u != SLACKBOT_ID]
    if not wanted:
        return [], 0
    with factory() as session:
        known = directory_users(session, wanted)
    unknown = [u for u in wanted if u not in known]
    if len(unknown) > limit:
        log.warning(
            "%d people are not in the directory yet; looking up %d now, the rest next time", len(unknown), limit
        )
        unknown = unknown[:limit]
    if not unknown:
        return [], 0
    with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(unknown))) as pool:
        profiles = list(pool.map(slack.user_profile, unknown))
    records = [r for r in (member_from_slack(p) if p else None for p in profiles) if r is not None]
    return records, len(unknown)


def learn_members(factory: SessionFactory, slack: SlackMembership, user_ids: Iterable[str], now: datetime) -> None:
    """Look up and store the people among `user_ids` the directory lacks. Slack not answering is not an
    error here: whoever could not be looked up stays unknown, and the caller says so."""
    try:
        records, _looked_up = look_up_unknown(factory, slack, user_ids, COMMAND_LOOKUPS)
    except MembershipUnavailable as error:
        log.info("could not look people up in Slack: %s", error)
        return
    if records:
        with transaction(factory) as session:
            upsert_members(session, records, now)
