"""Linked teams follow channel and user group events between syncs: signed events through the real HTTP server."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from jobs.members import member_from_slack
from storage.db import transaction
from storage.members import upsert_members
from storage.models import Member, Team, TeamMember
from storage.teams import add_team_members, create_team
from tests.live_server import LiveServer
from tests.pulse_fixtures import PulseWorld, make_world, serve_tandem
from tests.slack_signing import event_callback, json_request
from tests.slack_standin import BOT_USER_ID, SlackStandin, make_user

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
_event_ids = itertools.count(1)


def uid(index: int) -> str:
    return make_user(index)["id"]


def users(*indexes: int) -> set[str]:
    return {uid(i) for i in indexes}


@dataclass
class Links:
    world: PulseWorld
    server: LiveServer

    @property
    def standin(self) -> SlackStandin:
        return self.world.standin

    def send(self, event: dict[str, Any]) -> None:
        reply = self.server.request("POST", "/slack/events", *json_request(event_callback(event, self.event_id())))
        assert reply.status == 200

    @staticmethod
    def event_id() -> str:
        return f"EvLINK{next(_event_ids):06d}"

    def team(self, name: str, kind: str = "manual", source_id: str | None = None, **settings: Any) -> int:
        with transaction(self.world.factory) as session:
            return create_team(session, name, NOW, source_kind=kind, source_id=source_id, **settings).id

    def join(self, team_id: int, *indexes: int) -> None:
        with transaction(self.world.factory) as session:
            ids = session.scalars(select(Member.id).where(Member.slack_user_id.in_([uid(i) for i in indexes])))
            add_team_members(session, team_id, list(ids))

    def members_of(self, team_id: int) -> set[str]:
        with self.world.factory() as session:
            query = select(Member.slack_user_id).join(TeamMember, TeamMember.member_id == Member.id)
            return set(session.scalars(query.where(TeamMember.team_id == team_id)))

    def channel_ok(self, team_id: int) -> bool:
        with self.world.factory() as session:
            return session.get(Team, team_id).channel_ok

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.02)

    def settle(self) -> None:
        """For 'nothing changed': events are handled after the ack, so give them a moment."""
        time.sleep(0.3)


@pytest.fixture
def links(engine: Engine, standin: SlackStandin) -> Iterator[Links]:
    world = make_world(engine, standin, NOW)
    records = [member_from_slack(make_user(i)) for i in range(6)]
    with transaction(world.factory) as session:
        upsert_members(session, [r for r in records if r is not None], NOW)
    with serve_tandem(engine, standin, world.factory, lambda: datetime.now(UTC)) as server:
        yield Links(world, server)


def channel_event(kind: str, user: str, channel: str) -> dict[str, Any]:
    """Shaped like Slack's member_joined_channel / member_left_channel examples."""
    event = {"type": kind, "user": user, "channel": channel, "channel_type": "C", "team": "T0TANDEM1"}
    return {**event, "event_ts": f"{time.time():.6f}"}


def test_someone_joining_a_followed_channel_joins_its_teams_and_leaving_takes_them_out(links: Links) -> None:
    support = links.team("Support", "channel", "C0SUPPORT1")
    leads = links.team("Support leads", "channel", "C0SUPPORT1")
    other = links.team("Sales", "channel", "C0SALES001")
    links.join(support, 0)

    links.send(channel_event("member_joined_channel", uid(1), "C0SUPPORT1"))
    links.wait_until(lambda: links.members_of(support) == users(0, 1) and links.members_of(leads) == users(1))

    links.send(channel_event("member_left_channel", uid(0), "C0SUPPORT1"))
    links.wait_until(lambda: links.members_of(support) == users(1))
    assert links.members_of(other) == set()
    assert links.standin.calls_to("users.info") == []  # both were in the directory already


def test_someone_new_to_the_directory_is_looked_up_and_added_but_a_bot_never(links: Links) -> None:
    links.standin.users = [make_user(7), make_user(8, bot=True)]
    support = links.team("Support", "channel", "C0SUPPORT1")

    links.send(channel_event("member_joined_channel", uid(8), "C0SUPPORT1"))
    links.send(channel_event("member_joined_channel", uid(7), "C0SUPPORT1"))

    links.wait_until(lambda: links.members_of(support) == users(7))
    links.standin.wait_for("users.info", 2)
    links.settle()
    assert links.members_of(support) == users(7)
    with links.world.factory() as session:
        assert session.scalars(select(Member.slack_user_id).where(Member.slack_user_id == uid(8))).all() == []


def test_a_join_in_a_channel_no_team_follows_changes_nothing_and_asks_slack_nothing(links: Links) -> None:
    manual = links.team("Support")
    links.send(channel_event("member_joined_channel", uid(9), "C0RANDOM01"))
    links.settle()
    assert links.members_of(manual) == set()
    assert [c.method for c in links.standin.calls if c.method != "auth.test"] == []


def test_tandem_being_invited_to_a_digest_channel_marks_it_postable_and_removal_unmarks_it(links: Links) -> None:
    support = links.team("Support", channel_id="C0DIGEST01")
    sales = links.team("Sales", channel_id="C0DIGEST02")
    follows = links.team("Digest readers", "channel", "C0DIGEST01")

    links.send(channel_event("member_joined_channel", BOT_USER_ID, "C0DIGEST01"))
    links.wait_until(lambda: links.channel_ok(support))
    assert not links.channel_ok(sales)
    assert links.members_of(follows) == set()  # Tandem itself is never a member

    links.send(channel_event("member_left_channel", BOT_USER_ID, "C0DIGEST01"))
    links.wait_until(lambda: not links.channel_ok(support))


def test_a_user_group_change_adds_and_removes_people_in_teams_following_the_group(links: Links) -> None:
    leads = links.team("Leads", "usergroup", "S0LEADS001")
    links.join(leads, 0, 1)
    event = {
        "type": "subteam_members_changed",
        "subteam_id": "S0LEADS001",
        "team_id": "T0TANDEM1",
        "date_previous_update": 1446670362,
        "date_update": 1492906952,
        "added_users": [uid(2), uid(3)],
        "added_users_count": "2",
        "removed_users": [uid(0)],
        "removed_users_count": "1",
    }
    links.send(event)
    links.wait_until(lambda: links.members_of(leads) == users(1, 2, 3))


def subteam(users: list[str], **fields: Any) -> dict[str, Any]:
    """Shaped like Slack's subteam_updated example."""
    return {
        "type": "subteam_updated",
        "subteam": {
            "id": "S0LEADS001",
            "team_id": "T0TANDEM1",
            "is_usergroup": True,
            "name": "Support leads",
            "handle": "support-leads",
            "date_delete": 0,
            "users": users,
            "user_count": len(users),
            **fields,
        },
        "event_ts": f"{time.time():.6f}",
    }


def test_a_user_group_update_with_its_member_list_makes_the_team_exactly_those_people(links: Links) -> None:
    leads = links.team("Leads", "usergroup", "S0LEADS001")
    links.join(leads, 0, 1)
    links.send(subteam([uid(1), uid(4), uid(5)]))
    links.wait_until(lambda: links.members_of(leads) == users(1, 4, 5))
    assert links.standin.calls_to("usergroups.users.list") == []


def test_a_user_group_update_whose_list_slack_cut_short_reads_the_whole_group(links: Links) -> None:
    leads = links.team("Leads", "usergroup", "S0LEADS001")
    links.standin.usergroups["S0LEADS001"] = [uid(i) for i in range(6)]
    links.send(subteam([uid(0), uid(1)], user_count=6))
    links.wait_until(lambda: links.members_of(leads) == users(*range(6)))
    links.standin.wait_for("usergroups.users.list")


def test_a_user_group_rename_or_disabling_leaves_the_members_as_they_were(links: Links) -> None:
    leads = links.team("Leads", "usergroup", "S0LEADS001")
    links.join(leads, 0, 1)
    renamed = subteam([])
    del renamed["subteam"]["users"]
    links.send(renamed)
    links.send(subteam([], date_delete=1_700_000_000))
    links.settle()
    assert links.members_of(leads) == users(0, 1)
