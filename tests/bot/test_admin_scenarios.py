"""Admins configure Tandem with /pulse only, through the real HTTP server with signed requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from bot.admin.forms import MEMBERS_CALLBACK, SCHEDULE_CALLBACK
from jobs.pulse_rounds import open_due_rounds
from storage.models import AuditEntry, Delivery, Member, PulseRound, Team, TeamMember
from tests.admin_world import ADMIN, AdminWorld, admin_world, mention
from tests.pulse_fixtures import BANK, make_world
from tests.slack_standin import SlackStandin

# A Monday: the default pulse day (Tuesday) is tomorrow.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> Iterator[AdminWorld]:
    standin.add_channel("C0SUPPORT1", "support-leads", [])
    standin.add_channel("C0OUTSIDE1", "elsewhere", [], bot_is_member=False)
    with admin_world(engine, standin, MONDAY) as running:
        yield running


def team_row(world: AdminWorld, name: str) -> Team:
    with world.factory() as session:
        team = session.scalars(select(Team).where(Team.name == name)).one()
        session.expunge(team)
        return team


def test_an_admin_goes_from_a_fresh_install_to_a_pulsed_team_with_a_digest_channel(world: AdminWorld) -> None:
    # Nobody is in the directory yet: the owner is looked up with users.info, members as they are added.
    assert "Created team *Customer Support*" in world.slash("team create Customer Support")
    added = world.slash(f'team add "Customer Support" {" ".join(mention(i) for i in range(1, 7))}')
    assert "6 added to *Customer Support*" in added
    assert "digest and alerts go to <#C0SUPPORT1>" in world.slash('team channel "Customer Support" <#C0SUPPORT1|x>')
    assert "Next pulse: Tue 24 Nov" in world.slash('schedule "Customer Support" weekly tue 10:00')
    assert "manages *Customer Support*" in world.slash(f'team manager "Customer Support" {mention(1)}')

    pulse_day = make_world(world.engine, world.standin, datetime(2026, 11, 24, 10, 5, tzinfo=UTC))
    team_id = team_row(world, "Customer Support").id
    (opened,) = open_due_rounds(pulse_day.factory, BANK, pulse_day.now, [team_id])
    assert opened.members == 6
    pulse_day.dispatcher().send_due([team_id])
    assert world.count(Delivery, Delivery.status == "sent") == 6

    status = world.slash("status")
    assert "1 teams (0 paused)" in status and "Nothing needs attention" in status
    audit = world.slash("audit")
    assert audit.count(f"<@{ADMIN}>") == 5


def test_someone_who_is_not_an_admin_changes_nothing(world: AdminWorld) -> None:
    answer = world.slash("team create Sneaky", user="U00000003")
    assert "Only Tandem admins" in answer
    assert world.count(Team) == 0
    assert world.count(AuditEntry) == 0


def test_an_admin_can_add_another_and_the_log_says_who(world: AdminWorld) -> None:
    assert "is a Tandem admin" in world.slash(f"admin add {mention(3)}")
    assert "Created team" in world.slash("team create Ops", user="U00000003")
    assert "<@U00000003>" in world.slash("admins")
    assert "no longer an added Tandem admin" in world.slash(f"admin remove {mention(3)}")
    assert "Only Tandem admins" in world.slash("team create Ops Two", user="U00000003")
    assert "<@U00000003>: created team Ops" in world.slash("audit")


def test_help_shows_each_person_what_they_may_do(world: AdminWorld) -> None:
    world.slash("status")  # the owner is now in the directory
    assert "/pulse team create" in world.slash("help")
    member_help = world.slash("help", user="U00000004")
    assert "/pulse optout" in member_help and "/pulse team create" not in member_help


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team create <b>x</b>", "characters a team name cannot have"),
        ("schedule Support weekly tue 25:00", "/pulse schedule NAME weekly|biweekly|monthly DAY HH:MM"),
        ("privacy threshold 12", "from 3 to 10"),
        ("frobnicate", "does not know `/pulse frobnicate`"),
        ("team rename Nope to Other", "There is no team called `Nope`"),
    ],
)
def test_bad_input_gets_the_problem_and_the_right_form(world: AdminWorld, text: str, expected: str) -> None:
    assert expected in world.slash(text)


def test_team_names_are_unique_whatever_their_capitals(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert "already exists" in world.slash("team create  SUPPORT ")
    assert world.count(Team) == 1


def test_rename_and_delete_with_confirmation(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert "Renamed *Support* to *Customer Care*" in world.slash("team rename support to Customer Care")
    assert "confirm" in world.slash("team delete Customer Care")
    assert world.count(Team) == 1
    assert "Deleted team *Customer Care*" in world.slash("team delete customer care confirm")
    assert world.count(Team) == 0


def test_people_are_removed_and_bots_are_refused(world: AdminWorld) -> None:
    world.slash("team create Support")
    world.slash(f"team add Support {mention(1)} {mention(2)} <@UNOBODY01|ghost>")
    assert world.count(TeamMember) == 2
    assert "1 removed from *Support*" in world.slash(f"team remove Support {mention(2)}")
    assert world.count(TeamMember) == 1


def test_adding_without_naming_anyone_opens_a_form_that_adds_the_picked_people(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert world.slash("team add Support") == ""
    view = world.opened_view()
    assert view["callback_id"] == MEMBERS_CALLBACK
    empty = world.submit(view, {"members": {"users": {"type": "multi_users_select", "selected_users": []}}})
    assert b'"response_action": "errors"' in empty.body or b'"response_action":"errors"' in empty.body
    picked = {"members": {"users": {"type": "multi_users_select", "selected_users": ["U00000005", "U00000006"]}}}
    assert world.submit(view, picked).status == 200
    assert world.count(TeamMember) == 2


def test_the_schedule_form_refuses_a_night_time_and_saves_a_day_time(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert world.slash("schedule Support") == ""
    view = world.opened_view()
    assert view["callback_id"] == SCHEDULE_CALLBACK

    def values(time: str) -> dict[str, object]:
        return {
            "cadence": {"cadence": {"type": "static_select", "selected_option": {"value": "biweekly"}}},
            "weekday": {"weekday": {"type": "static_select", "selected_option": {"value": "4"}}},
            "time": {"time": {"type": "timepicker", "selected_time": time}},
        }

    night = world.submit(view, values("23:30"))
    assert b"errors" in night.body and b"05:00 to 21:00" in night.body
    assert world.submit(view, values("14:30")).status == 200
    team = team_row(world, "Support")
    assert (team.every_weeks, team.pulse_weekday, team.window_start_minute) == (2, 4, 870)


def test_a_channel_tandem_is_not_in_is_saved_with_how_to_invite_it(world: AdminWorld) -> None:
    world.slash("team create Support")
    answer = world.slash("team channel Support <#C0OUTSIDE1|elsewhere>")
    assert "cannot post there yet" in answer and "/invite @Tandem" in answer
    assert not team_row(world, "Support").channel_ok
    assert "cannot post" in world.slash("status") or "not in" in world.slash("status")


def test_a_team_linked_to_a_user_group_takes_its_members(world: AdminWorld) -> None:
    world.standin.usergroups["S0SUPPORT1"] = ["U00000001", "U00000002", "U00000003"]
    world.slash("team create Support")
    assert "follows <!subteam^S0SUPPORT1>" in world.slash("team link Support <!subteam^S0SUPPORT1|@support>")
    (follow_up,) = world.standin.wait_for("response_url")
    assert "3 added, 0 removed" in follow_up.body["text"]
    assert world.count(TeamMember) == 3
    assert "its members come from there" in world.slash(f"team add Support {mention(4)}")
    assert "no longer follows" in world.slash("team unlink Support")


def test_pause_and_resume(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert "Paused *Support*" in world.slash("pause Support")
    assert team_row(world, "Support").paused
    assert "Resumed *Support*" in world.slash("resume Support")
    assert "already running" in world.slash("resume Support")


def test_questions_are_listed_added_reworded_and_retired(world: AdminWorld) -> None:
    listing = world.slash("questions")  # the shipped bank, before any round has loaded it
    assert "*Workload*" in listing and "`enps`" in listing
    added = world.slash('question add workload "I can finish my work in normal hours"')
    assert "Added `custom-1`" in added
    assert "version 2" in world.slash('question edit custom-1 "I finish my work within normal hours"')
    assert "Retired `custom-1`" in world.slash("question retire custom-1")
    assert "There is no question `custom-1`" in world.slash("question retire custom-1")
    assert "not a driver" in world.slash('question add nonsense "A question about nothing at all"')


def test_questions_per_pulse_is_set_per_team(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert "ask 2 questions" in world.slash("team questions Support 2")
    assert team_row(world, "Support").questions_per_pulse == 2


def test_a_higher_threshold_reaches_open_rounds_and_a_lower_one_waits(world: AdminWorld) -> None:
    world.slash("team create Support")
    world.slash(f"team add Support {' '.join(mention(i) for i in range(1, 9))}")
    team_id = team_row(world, "Support").id
    open_due_rounds(world.factory, BANK, world.now, [team_id], right_now=True)
    assert "at least 7 answers" in world.slash("privacy threshold 7")
    with world.factory() as session:
        assert session.scalar(select(PulseRound.anonymity_threshold)) == 7
    world.slash("privacy threshold 3 Support")
    with world.factory() as session:
        assert session.scalar(select(PulseRound.anonymity_threshold)) == 7
        assert session.scalar(select(Team.anonymity_threshold)) == 3
    assert "at least *7* people answered" in world.slash("privacy", user="U00000004")


def test_helpdesk_agents_and_groups_are_mapped(world: AdminWorld) -> None:
    world.slash("team create Support")
    assert "count for *Support*" in world.slash('helpdesk group "Tier 1 EMEA" Support')
    assert "count for the teams of" in world.slash(
        f"helpdesk map <mailto:ana@example.com|ana@example.com> {mention(2)}"
    )
    listing = world.slash("helpdesk")
    assert "Tier 1 EMEA" in listing and "ana@example.com" in listing


def test_teams_lists_sizes_and_pages(world: AdminWorld) -> None:
    world.slash("team create Support")
    world.slash(f"team add Support {mention(1)} {mention(2)}")
    with world.factory.begin() as session:
        session.execute(Member.__table__.update().where(Member.slack_user_id == "U00000002").values(opted_out=True))
    assert "*Support*: 1 of 2" in world.slash("teams")
    assert "There is no page 3" in world.slash("teams page 3")


def test_a_refused_command_leaves_everything_as_it_was(world: AdminWorld) -> None:
    world.slash("team create Support")
    world.slash("team create Sales")
    before = world.count(AuditEntry)
    assert "already exists" in world.slash("team rename Support to sales")
    assert "There is no team called `Nope`" in world.slash("privacy threshold 4 Nope")
    assert world.count(AuditEntry) == before
    assert team_row(world, "Support").anonymity_threshold == 5
    assert "at least *5* people" in world.slash("privacy")


def test_smart_quotes_from_a_phone_work_over_the_wire(world: AdminWorld) -> None:
    world.slash("team create Customer Support")
    answer = world.slash(f"team add \u201cCustomer Support\u201d {mention(1)}  {mention(2)}")
    assert "2 added to *Customer Support*" in answer


def test_a_team_linked_to_a_channel_takes_its_people_and_show_describes_it(world: AdminWorld) -> None:
    world.standin.add_channel("C0ONCALL01", "on-call", ["U00000007", "U00000008"])
    world.slash("team create On Call")
    world.slash(f'team manager "On Call" {mention(7)}')
    assert "follows <#C0ONCALL01>" in world.slash('team link "On Call" <#C0ONCALL01|on-call>')
    world.standin.wait_for("response_url")
    shown = world.slash("team show on call")
    assert "*On Call*: 2 members (following <#C0ONCALL01>)" in shown
    assert "Manager: <@U00000007>" in shown and "weekly on Tuesday at 10:00" in shown
