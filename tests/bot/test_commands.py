"""The /pulse parser on its own: every command's words, Slack's escaping, and the errors it names."""

from __future__ import annotations

import pytest

from bot.command_help import ADMIN_TOPICS, MEMBER_TOPICS, help_text, topic_of
from bot.command_words import CommandError
from bot.commands import PulseCommand, parse_pulse_command


def error_of(text: str) -> CommandError:
    with pytest.raises(CommandError) as raised:
        parse_pulse_command(text)
    return raised.value


def test_an_empty_command_asks_for_help() -> None:
    assert parse_pulse_command("   ") == PulseCommand("help")


@pytest.mark.parametrize("text", ["optout", "OptOut", " opt-out ", "opt_out"])
def test_it_reads_opt_out_however_it_is_typed(text: str) -> None:
    assert parse_pulse_command(text).action == "optout"


def test_team_names_may_have_spaces_without_quotes_where_nothing_follows_them() -> None:
    assert parse_pulse_command("team   create  Customer   Support").team == "Customer Support"


def test_smart_quotes_group_words_like_straight_ones() -> None:
    command = parse_pulse_command("team add \u201cCustomer Support\u201d <@U01ABC|ana> <@U02DEF>")
    assert command == PulseCommand("team.add", team="Customer Support", users=("U01ABC", "U02DEF"))


def test_adding_without_people_asks_for_the_form() -> None:
    assert parse_pulse_command("team add Support") == PulseCommand("team.add", team="Support")


def test_rename_reads_to_as_the_separator() -> None:
    command = parse_pulse_command("team rename Support to Customer Care")
    assert (command.team, command.new_name) == ("Support", "Customer Care")


def test_delete_needs_the_word_confirm_to_go_ahead() -> None:
    assert not parse_pulse_command("team delete Support").confirmed
    assert parse_pulse_command("team delete Support confirm").confirmed


def test_link_takes_a_usergroup_or_a_channel() -> None:
    assert parse_pulse_command("team link Support <!subteam^S0123|@support>").usergroup == "S0123"
    assert parse_pulse_command("team link Support <#C0123|support>").channel == "C0123"
    assert error_of("team link Support <@U1|x>").topic == "team.link"


def test_schedule_reads_cadence_day_and_local_time() -> None:
    command = parse_pulse_command("schedule Customer Support biweekly Fri 2:30pm")
    assert (command.team, command.cadence_weeks, command.weekday, command.minute) == ("Customer Support", 2, 5, 870)
    assert parse_pulse_command("schedule Ops monthly monday 09:05").minute == 545


def test_schedule_with_only_a_team_opens_the_form() -> None:
    assert parse_pulse_command("schedule Support").action == "schedule.form"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("schedule Support weekly tue 25:00", "not a time of day"),
        ("schedule Support weekly someday 10:00", "not a day of the week"),
        ("schedule Support weekly tue", "a day and a time"),
        ("schedule Support daily tue 10:00", "weekly, biweekly or monthly"),
    ],
)
def test_a_malformed_schedule_names_the_problem(text: str, fragment: str) -> None:
    error = error_of(text)
    assert fragment in error.problem
    assert error.topic == "schedule"


@pytest.mark.parametrize("k", ["2", "11", "five", "-3"])
def test_thresholds_outside_three_to_ten_are_refused(k: str) -> None:
    assert error_of(f"privacy threshold {k}").topic == "privacy"


def test_a_threshold_may_name_one_team() -> None:
    assert parse_pulse_command("privacy threshold 7 Customer Support") == PulseCommand(
        "privacy.threshold", number=7, team="Customer Support"
    )


def test_it_unwraps_the_emails_slack_escapes() -> None:
    command = parse_pulse_command("helpdesk map <mailto:Ana@Example.com|Ana@Example.com> <@U01ABC|ana>")
    assert (command.email, command.users) == ("ana@example.com", ("U01ABC",))


def test_helpdesk_groups_take_quoted_names() -> None:
    command = parse_pulse_command('helpdesk group "Tier 1 EMEA" Customer Support')
    assert (command.text, command.team) == ("Tier 1 EMEA", "Customer Support")


def test_questions_are_added_and_edited_with_their_text() -> None:
    added = parse_pulse_command('question add Workload "I can finish my work in normal hours"')
    assert (added.driver, added.text) == ("workload", "I can finish my work in normal hours")
    assert parse_pulse_command("question retire Custom-1").question == "custom-1"
    assert "10 to 200 characters" in error_of('question edit workload-1 "short"').problem


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("team create <b>bold</b>", "characters a team name cannot have"),
        ("team create " + "x" * 81, "at most 80 characters"),
        ('team create "Support', "quote is not closed"),
        ("team add Support @bob", "pick the person from the list"),
        ("team manager Support", "exactly one manager"),
        ("team channel Support general", "one channel"),
        ("team questions Support 9", "from 1 to 5"),
        ("helpdesk map not-an-email <@U1>", "not an email address"),
        ("admin add bob", "is not a person"),
    ],
)
def test_bad_input_gets_a_one_line_reason(text: str, fragment: str) -> None:
    assert fragment in error_of(text).problem


def test_an_unknown_command_says_so() -> None:
    assert "does not know `/pulse frobnicate`" in error_of("frobnicate").problem


def test_only_member_commands_are_open_to_everyone() -> None:
    assert not parse_pulse_command("privacy").admin_only
    assert not parse_pulse_command("optout").admin_only
    assert parse_pulse_command("privacy threshold 5").admin_only
    assert parse_pulse_command("teams").admin_only


def test_help_lists_only_what_the_caller_may_do() -> None:
    member_help = help_text("", is_admin=False)
    assert "/pulse optout" in member_help and "/pulse team create" not in member_help
    admin_help = help_text("", is_admin=True)
    assert all(usage in admin_help for usage, _ in {**MEMBER_TOPICS, **ADMIN_TOPICS}.values())


def test_help_for_a_group_lists_its_commands() -> None:
    assert topic_of("team") == "team"
    text = help_text("team", is_admin=True)
    assert "/pulse team create" in text and "/pulse schedule" not in text
    assert help_text("schedule", is_admin=True).count("\n") == 0
