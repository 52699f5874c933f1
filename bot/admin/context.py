"""What every /pulse use case gets (the transaction, who asked, when, Slack) and what it gives back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.command_words import WEEKDAYS
from jobs.membership import ChannelCheck, SlackMembership
from storage.audit import record_change
from storage.members import member_ids_of
from storage.models import Team
from storage.teams import team_named

# Work that must wait until the change is committed and Slack has its answer (a sync, a Home refresh).
# It gets a `say` that reaches the admin afterwards (an ephemeral follow-up through the response URL).
FollowUp = Callable[[Callable[[str], None]], None]


class AdminError(Exception):
    """The command cannot be carried out as given: `problem` says why, `topic` picks the help to show."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(problem)
        self.topic = topic
        self.problem = problem


@dataclass
class CommandContext:
    session: Session
    actor: str  # the admin's Slack user id
    now: datetime
    slack: SlackMembership
    # The answer of conversations.info for the command's channel, asked before the transaction began.
    channel_check: ChannelCheck | None = None

    def audit(self, action: str, detail: str) -> None:
        record_change(self.session, self.actor, action, detail, self.now)

    def team(self, name: str, topic: str) -> Team:
        team = team_named(self.session, name)
        if team is None:
            raise AdminError(topic, f"There is no team called `{name}`: `/pulse teams` lists them.")
        return team

    def members_of(self, user_ids: Sequence[str]) -> tuple[dict[str, int], list[str]]:
        """Directory ids of these Slack users (`learn_members` looked up the new ones before the transaction),
        and the users that cannot be members: bots, deactivated or unknown to Slack."""
        known = member_ids_of(self.session, list(user_ids))
        return known, [user for user in dict.fromkeys(user_ids) if user not in known]


@dataclass(frozen=True)
class Reply:
    """What the caller sees at once (ephemeral), and what happens next."""

    text: str
    follow_up: FollowUp | None = None
    modal: dict[str, Any] | None = None  # a view to open instead of a text answer
    refresh_home: bool = field(default=True)  # republish the caller's App Home (their overview changed)


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "nobody"


def channel_link(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "no channel"


def clock_words(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def digest_words(team: Team) -> str:
    """`on Mondays at 09:00`: when the team's weekly digest is posted."""
    return f"on {WEEKDAYS[team.digest_weekday - 1].capitalize()}s at {clock_words(team.digest_minute)}"


def schedule_words(team: Team) -> str:
    """`weekly on Tuesday at 10:00`, as admins typed it (members' local time)."""
    cadence = {1: "weekly", 2: "every two weeks", 4: "every four weeks"}.get(
        team.every_weeks, f"every {team.every_weeks} weeks"
    )
    return f"{cadence} on {WEEKDAYS[team.pulse_weekday - 1].capitalize()} at {clock_words(team.window_start_minute)}"
