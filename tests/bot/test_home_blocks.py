"""The App Home builder: plain models in, a Home view within Block Kit's limits out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from bot.blocks.home import DELETE_HISTORY_ACTION, OPT_IN_ACTION, OPT_OUT_ACTION, home_view
from storage.home_records import (
    ANSWERED,
    ASKED,
    NOT_SENT,
    SKIPPED,
    AdminOverview,
    DriverAverage,
    HomeModel,
    ManagerSummary,
    OnboardingStep,
    ParticipationHistory,
    RoundParticipation,
)

DAY = date(2026, 11, 24)
HISTORY = ParticipationHistory(
    rounds=(
        RoundParticipation("Support", DAY, ASKED, "sent", True),
        RoundParticipation("Support", DAY - timedelta(days=7), ANSWERED, "closed", False),
        RoundParticipation("Support", DAY - timedelta(days=14), SKIPPED, "closed", False),
        RoundParticipation("Support", DAY - timedelta(days=21), ASKED, "closed", False),
        RoundParticipation("Support", DAY - timedelta(days=28), NOT_SENT, "opted_out", False),
    ),
    total_rounds=14,
    asked=13,
    answered=9,
    skipped=2,
)
MEMBER = HomeModel("U1", True, False, ("Support",), 5, HISTORY)
STEPS = (
    OnboardingStep("Sync users", True, "Run `tandem users sync` on the server (it also runs every night)."),
    OnboardingStep("Create a team", False, "`/pulse team create NAME`"),
)


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def buttons(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}


def block_kit_problems(view: dict[str, Any]) -> list[str]:
    """Slack's documented limits for a Home view (../shared/reference/slack.md section 5)."""
    found = [] if view["type"] == "home" and len(view["blocks"]) <= 100 else ["over 100 blocks"]
    for block in view["blocks"]:
        if block["type"] == "section" and len(block["text"]["text"]) > 3000:
            found.append("section text over 3000")
        if block["type"] == "header" and len(block["text"]["text"]) > 150:
            found.append("header over 150")
        if block["type"] == "context" and len(block["elements"]) > 10:
            found.append("context over 10 elements")
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if len(element["text"]["text"]) > 75 or len(element["action_id"]) > 255 or len(element["value"]) > 255:
                found.append(f"button {element['action_id']} too long")
            confirm = element.get("confirm")
            if confirm and (len(confirm["text"]["text"]) > 300 or len(confirm["title"]["text"]) > 100):
                found.append("confirm too long")
    return found


@pytest.mark.parametrize(("k", "comments"), [(3, 5), (5, 5), (7, 7)])
def test_the_privacy_promise_shows_the_live_threshold_and_comments_at_max_of_k_and_5(k: int, comments: int) -> None:
    text = texts(home_view(replace(MEMBER, threshold=k)))
    assert f"at least *{k}* people answered (the threshold in your team)" in text
    assert f"Comments are shown only when at least *{comments}* people answered" in text


def test_someone_in_several_teams_is_promised_the_lowest_threshold_of_them() -> None:
    text = texts(home_view(replace(MEMBER, teams=("Billing", "Support"), threshold=4)))
    assert "at least *4* people answered (the lowest threshold of your teams)" in text
    assert "You are in Billing, Support." in text


def test_it_explains_what_tandem_asks_and_why() -> None:
    text = texts(home_view(MEMBER))
    assert "About once a week" in text and "workload, wellbeing, recognition, growth" in text
    assert "customers" in text


def test_each_round_of_the_history_shows_its_outcome_never_a_value() -> None:
    text = texts(home_view(MEMBER))
    assert "24 Nov 2026, Support: open: not answered yet" in text
    assert "17 Nov 2026, Support: answered" in text and "10 Nov 2026, Support: skipped" in text
    assert "3 Nov 2026, Support: no answer" in text and "27 Oct 2026, Support: not sent: you had opted out" in text
    assert "14 pulses (the latest 5 below): 13 reached you, you answered 9 and skipped 2." in text


def test_the_opt_button_follows_the_members_choice() -> None:
    assert set(buttons(home_view(MEMBER))) == {OPT_OUT_ACTION, DELETE_HISTORY_ACTION}
    opted_out = home_view(replace(MEMBER, opted_out=True))
    assert OPT_IN_ACTION in buttons(opted_out) and OPT_OUT_ACTION not in buttons(opted_out)
    assert "You have *opted out*" in texts(opted_out)


def test_delete_my_history_asks_first_and_says_the_answers_stay_unlinked() -> None:
    confirm = buttons(home_view(MEMBER))[DELETE_HISTORY_ACTION]["confirm"]
    assert len(confirm["text"]["text"]) <= 300 and confirm["style"] == "danger"
    assert "stay in your team's anonymous results" in confirm["text"]["text"]
    assert "nothing left that links them to you" in confirm["text"]["text"]


def test_someone_in_no_team_and_not_in_the_directory_still_gets_a_home() -> None:
    stranger = HomeModel("U9", False, False, (), 6, ParticipationHistory((), 0, 0, 0, 0))
    view = home_view(stranger)
    text = texts(view)
    assert "not in any team yet" in text and "No pulses yet." in text
    assert "(the threshold in this workspace)" in text and "*6*" in text
    assert set(buttons(view)) == {OPT_OUT_ACTION}  # nothing to delete
    assert block_kit_problems(view) == []


def test_it_hides_a_managers_results_below_the_threshold() -> None:
    hidden = ManagerSummary("Support", DAY, 5, 8, 4, (DriverAverage("workload", 2.0, 4),), enps=-50)
    text = texts(home_view(replace(MEMBER, managed=(hidden,))))
    assert "4 of 8 people answered (50%)" in text
    assert "Fewer than 5 people answered: results stay hidden." in text
    assert "Workload" not in text and "eNPS" not in text and "2.0" not in text


def test_a_manager_sees_named_driver_averages_and_enps_apart() -> None:
    summary = ManagerSummary(
        "Support",
        DAY,
        5,
        8,
        6,
        (DriverAverage("workload", 3.6667, 6), DriverAverage("tools_processes", 4.0, 6)),
        enps=17,
    )
    text = texts(home_view(replace(MEMBER, managed=(summary,)), {"workload": "Workload"}))
    assert "*Support* · pulse of 24 Nov 2026\\n6 of 8 people answered (75%)" in text
    assert "• Workload: *3.7* of 5" in text and "• Tools processes: *4.0* of 5" in text
    assert "• eNPS: *+17*" in text
    assert "no closed pulse yet" in texts(home_view(replace(MEMBER, managed=(ManagerSummary("New", None, 0, 0, 0),))))


def test_the_admin_checklist_shows_while_a_step_is_open_with_its_command() -> None:
    admin = AdminOverview(3, 1, 250, ("*Support*: no manager",), STEPS)
    text = texts(home_view(replace(MEMBER, admin=admin)))
    assert "Getting started" in text and "~Sync users~" in text
    assert "*Create a team*: `/pulse team create NAME`" in text
    assert "3 teams (1 paused) · 250 active people in the directory" in text
    assert "• *Support*: no manager" in text
    done = replace(admin, steps=tuple(replace(s, done=True) for s in STEPS), problems=())
    text = texts(home_view(replace(MEMBER, admin=done)))
    assert "Getting started" not in text and "No configuration problems found." in text


def test_members_see_no_manager_or_admin_part() -> None:
    text = texts(home_view(MEMBER))
    assert "Your teams' latest pulse" not in text and "Tandem setup" not in text


def test_team_names_cannot_mention_anyone() -> None:
    model = replace(MEMBER, teams=("<!channel> & co",), managed=(ManagerSummary("<!here>", None, 0, 0, 0),))
    text = texts(home_view(model))
    assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt; &amp; co" in text


def test_a_huge_home_stays_within_block_kit_limits() -> None:
    name = "N" * 80
    history = replace(
        HISTORY, rounds=tuple(RoundParticipation(name, DAY, ANSWERED, "closed", False) for _ in range(10))
    )
    drivers = tuple(DriverAverage(f"driver_{i}_" + "x" * 30, 3.0, 9) for i in range(12))
    managed = tuple(ManagerSummary(f"{name}{i}", DAY, 5, 40, 30, drivers, 10) for i in range(300))
    problems = tuple(f"*{name}{i}*: " + "; ".join(["no digest channel", "no manager"] * 8) for i in range(50))
    admin = AdminOverview(1000, 10, 20000, (*problems, "… and 950 more teams with problems"), STEPS)
    teams = tuple(f"{name}{i}" for i in range(200))
    view = home_view(replace(MEMBER, teams=teams, history=history, managed=managed, admin=admin))
    assert block_kit_problems(view) == []
    text = texts(view)
    assert "… and 280 more teams" in text and "… and 950 more teams with problems" in text
