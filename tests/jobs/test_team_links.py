"""Linked teams against the Slack stand-in, through Tandem's real SlackMembershipClient and a real database."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from bot.settings import Secret, Settings
from bot.slack_client import make_web_client
from bot.slack_membership import SlackMembershipClient
from jobs.members import member_from_slack
from jobs.membership import LinkSourceMissing
from jobs.team_links import (
    links_summary,
    recheck_channels,
    sync_linked_team,
    sync_linked_teams,
)
from storage.db import transaction
from storage.members import upsert_members
from storage.models import Member, Team, TeamMember
from storage.teams import add_team_members, create_team
from tests.pulse_fixtures import PulseWorld, make_world
from tests.slack_standin import BOT_TOKEN, BOT_USER_ID, SlackStandin, make_user, slackbot

NOW = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
NOT_VISIBLE = "that channel does not exist or Tandem cannot see it (private channels: invite Tandem first)"


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    return make_world(engine, standin, NOW)


@pytest.fixture
def slack(standin: SlackStandin) -> SlackMembershipClient:
    settings = Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url)
    return SlackMembershipClient(make_web_client(settings))


def uid(index: int) -> str:
    return make_user(index)["id"]


def in_directory(world: PulseWorld, *indexes: int) -> None:
    records = [member_from_slack(make_user(i)) for i in indexes]
    with transaction(world.factory) as session:
        upsert_members(session, [r for r in records if r is not None], world.now)


def linked_team(world: PulseWorld, name: str, kind: str, source_id: str, *, members: tuple[int, ...] = ()) -> int:
    """A team following a user group or channel, with `members` (directory people) in it already."""
    with transaction(world.factory) as session:
        team = create_team(session, name, world.now, source_kind=kind, source_id=source_id)
        ids = session.scalars(select(Member.id).where(Member.slack_user_id.in_([uid(i) for i in members])))
        add_team_members(session, team.id, list(ids))
        return team.id


def members_of(world: PulseWorld, team_id: int) -> set[str]:
    with world.factory() as session:
        query = select(Member.slack_user_id).join(TeamMember, TeamMember.member_id == Member.id)
        return set(session.scalars(query.where(TeamMember.team_id == team_id)))


def users(*indexes: int) -> set[str]:
    return {uid(i) for i in indexes}


def test_a_team_following_a_channel_gets_exactly_its_people_and_a_second_sync_changes_nothing(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    in_directory(world, *range(6))
    team = linked_team(world, "Support", "channel", "C0SUPPORT1", members=(4, 5))
    world.standin.add_channel("C0SUPPORT1", "support", [uid(0), uid(1), uid(2)])

    first = sync_linked_team(world.factory, slack, team, NOW)
    second = sync_linked_team(world.factory, slack, team, NOW)

    assert members_of(world, team) == users(0, 1, 2)
    assert (first.added, first.removed, first.ok) == (3, 2, True)
    assert (second.added, second.removed) == (0, 0)
    # Tandem's own bot user is in the channel too: Slack says it is a bot (here: an unknown user), never a member.
    assert first.fetched == 1 and world.standin.calls_to("users.info")[0].body["user"] == BOT_USER_ID
    with world.factory() as session:
        assert session.get(Team, team).source_synced_at == NOW


def test_people_the_directory_does_not_know_are_looked_up_and_stored_but_bots_never_join(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    in_directory(world, 0)
    newcomer, bot, gone = make_user(7), make_user(8, bot=True), make_user(9, deleted=True)
    world.standin.users = [make_user(0), newcomer, bot, gone, slackbot()]
    team = linked_team(world, "Support", "channel", "C0SUPPORT1")
    world.standin.add_channel("C0SUPPORT1", "support", [uid(0), uid(7), uid(8), uid(9), "USLACKBOT"], False)

    report = sync_linked_team(world.factory, slack, team, NOW)

    assert members_of(world, team) == users(0, 7)
    assert report.fetched == 3  # the newcomer, the bot and the deleted person; never Slackbot or a known member
    assert {c.body["user"] for c in world.standin.calls_to("users.info")} == users(7, 8, 9)
    with world.factory() as session:
        stored = {m.slack_user_id: m.active for m in session.scalars(select(Member))}
    assert stored == {uid(0): True, uid(7): True, uid(9): False}  # the deleted person is kept, inactive


def test_a_team_following_a_user_group_gets_its_members(world: PulseWorld, slack: SlackMembershipClient) -> None:
    in_directory(world, *range(4))
    world.standin.usergroups["S0LEADS001"] = [uid(1), uid(3)]
    team = linked_team(world, "Leads", "usergroup", "S0LEADS001", members=(0,))

    report = sync_linked_team(world.factory, slack, team, NOW)

    assert members_of(world, team) == users(1, 3)
    assert (report.added, report.removed, report.source) == (2, 1, "usergroup S0LEADS001")
    (call,) = world.standin.calls_to("usergroups.users.list")
    assert call.body["usergroup"] == "S0LEADS001"


def test_a_missing_source_keeps_the_members_and_is_reported_while_the_other_teams_still_sync(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    in_directory(world, *range(6))
    gone_group = linked_team(world, "Leads", "usergroup", "S0GONE0001", members=(0, 1))
    flaky = linked_team(world, "Sales", "channel", "C0FLAKY001", members=(3,))
    gone_channel = linked_team(world, "Ops", "channel", "C0GONE0001", members=(2,))
    fine = linked_team(world, "Support", "channel", "C0SUPPORT1")
    world.standin.add_channel("C0FLAKY001", "sales", [uid(4)])
    world.standin.add_channel("C0SUPPORT1", "support", [uid(4), uid(5)])
    world.standin.fail("conversations.members", "internal_error")  # the first channel read: Sales's

    reports = {r.team_id: r for r in sync_linked_teams(world.factory, slack, NOW)}

    assert reports[gone_group].problem == "the user group S0GONE0001 does not exist any more"
    assert reports[gone_channel].problem == NOT_VISIBLE
    assert reports[flaky].problem == "MembershipUnavailable: internal_error"
    assert members_of(world, flaky) == users(3)
    assert reports[fine].ok and reports[fine].added == 2
    assert members_of(world, gone_group) == users(0, 1)
    assert members_of(world, gone_channel) == users(2)
    assert members_of(world, fine) == users(4, 5)
    summary = links_summary(list(reports.values()))
    assert summary.startswith("1 linked teams synced: +2 -0 members") and "3 not synced" in summary

    with pytest.raises(LinkSourceMissing, match="does not exist or Tandem cannot see it"):
        sync_linked_team(world.factory, slack, gone_channel, NOW)


def test_a_private_channel_tandem_is_not_in_looks_missing_and_a_manual_team_cannot_be_synced(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    world.standin.add_channel("G0SECRET01", "secret", [uid(1)], bot_is_member=False, is_private=True)
    team = linked_team(world, "Secret", "channel", "G0SECRET01")
    with pytest.raises(LinkSourceMissing, match=r"private channels: invite Tandem first"):
        sync_linked_team(world.factory, slack, team, NOW)
    manual = linked_team(world, "Manual", "manual", "")
    with pytest.raises(ValueError, match="does not follow"):
        sync_linked_team(world.factory, slack, manual, NOW)


def test_teams_following_the_same_channel_share_one_read_of_it(world: PulseWorld, slack: SlackMembershipClient) -> None:
    in_directory(world, 1, 2)
    world.standin.add_channel("C0SUPPORT1", "support", [uid(1), uid(2)])
    first = linked_team(world, "Support", "channel", "C0SUPPORT1")
    second = linked_team(world, "Support leads", "channel", "C0SUPPORT1")

    reports = sync_linked_teams(world.factory, slack, NOW)

    assert [r.team_id for r in reports] == [first, second] and all(r.added == 2 for r in reports)
    assert len(world.standin.calls_to("conversations.members")) == 1
    assert members_of(world, first) == members_of(world, second) == users(1, 2)


def test_a_channel_of_5000_people_syncs_page_by_page_in_well_under_ten_seconds_and_then_by_its_diff(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    in_directory(world, *range(5100))
    everyone = [uid(i) for i in range(5000)]
    world.standin.add_channel("C0ALLHANDS", "all-hands", everyone)
    team = linked_team(world, "Everyone", "channel", "C0ALLHANDS")

    started = time.perf_counter()
    first = sync_linked_team(world.factory, slack, team, NOW)
    took = time.perf_counter() - started

    assert (first.added, first.removed) == (5000, 0) and took < 5, f"{took:.2f} s"
    pages = world.standin.calls_to("conversations.members")
    assert len(pages) == 6 and {c.body["limit"] for c in pages} == {"1000"}  # 5,001 with Tandem itself

    world.standin.add_channel("C0ALLHANDS", "all-hands", everyone[100:] + [uid(i) for i in range(5000, 5100)])
    second = sync_linked_team(world.factory, slack, team, NOW)
    assert (second.added, second.removed) == (100, 100)
    assert len(members_of(world, team)) == 5000


def test_a_rate_limited_page_is_waited_out_and_the_sync_completes(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    in_directory(world, *range(3))
    world.standin.add_channel("C0SUPPORT1", "support", [uid(0), uid(1), uid(2)])
    team = linked_team(world, "Support", "channel", "C0SUPPORT1")
    world.standin.rate_limit("conversations.members", retry_after=0)

    report = sync_linked_team(world.factory, slack, team, NOW)

    assert report.added == 3 and len(world.standin.calls_to("conversations.members")) == 2


def test_recheck_records_for_each_digest_channel_whether_tandem_can_post_there(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    world.standin.add_channel("C0GOOD0001", "support", [])
    world.standin.add_channel("C0NOTIN001", "support-leads", [], bot_is_member=False)
    world.standin.add_channel("C0ARCHIVED", "old-support", [], is_archived=True)
    world.standin.add_channel("G0PRIVATE1", "private", [], bot_is_member=False, is_private=True)
    channels = ["C0GOOD0001", "C0NOTIN001", "C0ARCHIVED", "G0PRIVATE1", "C0MISSING1"]
    with transaction(world.factory) as session:
        for index, channel in enumerate(channels):
            create_team(session, f"Team {index}", NOW, channel_id=channel, channel_ok=channel != "C0GOOD0001")

    report = recheck_channels(world.factory, slack, NOW)

    with world.factory() as session:
        ok = {t.channel_id: t.channel_ok for t in session.scalars(select(Team))}
    assert ok == {
        "C0GOOD0001": True,
        "C0NOTIN001": False,
        "C0ARCHIVED": False,
        "G0PRIVATE1": False,
        "C0MISSING1": False,
    }
    problems = {channel: check.problem for channel, check in report.checks.items()}
    assert problems["C0GOOD0001"] == ""
    assert problems["C0NOTIN001"] == "Tandem is not in #support-leads: type `/invite @Tandem` in that channel"
    assert problems["C0ARCHIVED"] == "#old-support is archived: choose another channel for the digest"
    assert problems["G0PRIVATE1"] == problems["C0MISSING1"] == NOT_VISIBLE
    assert report.summary() == "1 digest channels ok, 4 not"


def test_a_channel_slack_gives_no_answer_for_keeps_its_last_known_state(
    world: PulseWorld, slack: SlackMembershipClient
) -> None:
    world.standin.add_channel("C0GOOD0001", "support", [])
    with transaction(world.factory) as session:
        create_team(session, "Support", NOW, channel_id="C0GOOD0001", channel_ok=True)
    world.standin.fail("conversations.info", "internal_error")

    report = recheck_channels(world.factory, slack, NOW)

    assert report.unchecked == {"C0GOOD0001": "internal_error"}
    assert report.summary() == "0 digest channels ok, 0 not, 1 not checked (internal_error)"
    with world.factory() as session:
        assert session.scalars(select(Team.channel_ok)).one() is True
