"""What the App Home reads: the member's ledger, managers' results, the admin's overview (real rounds)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, event, func, select, update

from bot.blocks.home import home_view
from bot.home import home_for
from jobs import pulse_answers
from jobs.digest_build import published_panel
from jobs.members import member_from_slack
from jobs.pulse_rounds import open_due_rounds
from storage.db import transaction
from storage.home import delete_participation, home_model, onboarding_steps
from storage.home_records import ANSWERED, ASKED, NOT_SENT, SKIPPED
from storage.imports import insert_answers, insert_imported_round
from storage.members import upsert_members
from storage.models import Answer, AuditEntry, Comment, Delivery, HelpdeskGroup, Member, QuestionVersion, Team
from storage.panel_data import week_monday
from storage.questions import seed_questions
from storage.rounds import asked_questions
from storage.status import configuration_problems
from storage.teams import add_team_members, create_team
from storage.workspace import default_threshold, set_default_threshold
from tests.pulse_fixtures import BANK, PulseWorld, answer_everything, make_world, run_round
from tests.slack_standin import SlackStandin, make_user

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    return make_world(engine, standin, START)


def set_team(world: PulseWorld, team_id: int, **values: Any) -> None:
    with transaction(world.factory) as session:
        session.execute(update(Team).where(Team.id == team_id).values(**values))


def published(world: PulseWorld, user: str) -> dict[str, Any]:
    with world.factory.begin() as session:
        return home_view(home_for(session, user), BANK.driver_names)


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_member_sees_each_round_as_answered_skipped_or_unanswered_with_totals(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    run_round(world, team, {"U00000000": 4, "U00000001": None})
    run_round(world, team, {"U00000000": None}, close=False)
    with world.factory.begin() as session:
        first = home_model(session, "U00000000")
        second = home_model(session, "U00000001")
        silent = home_model(session, "U00000002")
    assert [(r.team, r.outcome, r.open) for r in first.history.rounds] == [
        ("Support", SKIPPED, True),
        ("Support", ANSWERED, False),
    ]
    assert first.history.rounds[0].opened_on > first.history.rounds[1].opened_on
    totals = first.history
    assert (totals.total_rounds, totals.asked, totals.answered, totals.skipped) == (2, 2, 1, 1)
    assert [r.outcome for r in second.history.rounds] == [ASKED, SKIPPED]
    assert [r.outcome for r in silent.history.rounds] == [ASKED, ASKED]
    assert (silent.history.answered, silent.history.skipped) == (0, 0)


def test_the_history_lists_the_latest_ten_rounds_and_counts_them_all(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5)
    for _ in range(12):
        run_round(world, team, {"U00000003": 3})
    with world.factory.begin() as session:
        history = home_model(session, "U00000003").history
    assert len(history.rounds) == 10 and history.total_rounds == 12 and history.answered == 12
    assert history.rounds[0].opened_on == (world.now - timedelta(days=7)).date()


def test_a_pulse_not_sent_because_the_member_opted_out_says_so(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    assert open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    with transaction(world.factory) as session:
        session.execute(update(Member).where(Member.slack_user_id == "U00000004").values(opted_out=True))
    world.dispatcher().send_due([team], right_now=True)
    with world.factory.begin() as session:
        model = home_model(session, "U00000004")
    assert model.opted_out
    assert [(r.outcome, r.delivery_status) for r in model.history.rounds] == [(NOT_SENT, "opted_out")]
    assert model.history.asked == 0


def test_the_home_never_shows_a_members_answer_values_or_comments(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    set_team(world, team, manager_user_id="U00000000")  # an admin and manager: every part of the Home shows
    run_round(world, team, {f"U0000000{i}": 4 for i in range(6)})
    round_id = run_round(world, team, close=False)
    assert pulse_answers.comment(world.factory, "U00000000", round_id, None, "my secret words", world.now) is None

    answer_everything(world, round_id, "U00000000", 1)
    with_ones = published(world, "U00000000")
    answer_everything(world, round_id, "U00000000", 5)
    with_fives = published(world, "U00000000")

    # If any of the member's values reached the Home, changing them would change it.
    assert with_ones == with_fives
    text = json.dumps(with_fives)
    assert "my secret words" not in text
    assert "Your teams' latest pulse" in text and "Getting started" in text


def test_it_hides_a_managers_results_below_the_threshold(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    set_team(world, team, manager_user_id="UMANAGER")
    round_id = run_round(world, team, {f"U0000000{i}": 4 for i in range(5)})
    # One of the five deletes their history: the answers stay, but only four answered people are on record.
    with transaction(world.factory) as session:
        delete_participation(session, "U00000004")
    with world.factory.begin() as session:
        (summary,) = home_for(session, "UMANAGER").managed
        assert session.scalar(select(func.count()).where(Answer.round_id == round_id)) > 0
    assert (summary.team, summary.threshold, summary.asked, summary.answered) == ("Support", 5, 5, 4)
    assert not summary.shown and summary.drivers == () and summary.enps is None
    text = json.dumps(published(world, "UMANAGER"))
    assert "Fewer than 5 people answered: results stay hidden" in text and "* of 5" not in text


def test_a_manager_sees_driver_averages_and_enps_once_k_people_answered(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5, anonymity_threshold=3)  # one rotation group: everyone gets the same
    set_team(world, team, manager_user_id="UMANAGER")
    round_id = run_round(world, team, {"U00000000": 5, "U00000001": 5, "U00000002": 3})
    with world.factory.begin() as session:
        (summary,) = home_for(session, "UMANAGER").managed
        asked = asked_questions(session, round_id)[0]
    assert summary.shown and (summary.asked, summary.answered, summary.participation_percent) == (5, 3, 60)
    drivers = {q.driver for q in asked if q.scale != "enps"}
    assert {d.driver for d in summary.drivers} == drivers
    assert all(d.average == pytest.approx(13 / 3) and d.answers == 3 for d in summary.drivers)
    # eNPS answers were 10, 10 and 6: two promoters, one detractor.
    assert summary.enps == (33 if any(q.scale == "enps" for q in asked) else None)
    text = json.dumps(published(world, "UMANAGER"))
    assert "*4.3* of 5" in text and "60%" in text


def test_a_managed_team_without_a_closed_round_says_so(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    set_team(world, team, manager_user_id="UMANAGER")
    run_round(world, team, {"U00000000": 3}, close=False)
    with world.factory.begin() as session:
        (summary,) = home_for(session, "UMANAGER").managed
    assert summary.opened_on is None and not summary.shown


def test_deleting_history_removes_the_members_deliveries_and_unlinks_their_answers(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    run_round(world, team, {"U00000000": 4})
    round_id = run_round(world, team, {"U00000000": 2, "U00000001": 3}, close=False)
    assert pulse_answers.comment(world.factory, "U00000000", round_id, None, "more coffee", world.now) is None
    with world.factory() as session:
        answers_before = session.scalar(select(func.count()).select_from(Answer))

    with transaction(world.factory) as session:
        assert delete_participation(session, "U00000000") == 2

    with world.factory() as session:
        mine = select(Member.id).where(Member.slack_user_id == "U00000000").scalar_subquery()
        assert session.scalar(select(func.count()).where(Delivery.member_id == mine)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 10  # everyone else's stay
        assert session.scalar(select(func.count()).select_from(Answer)) == answers_before
        linked = session.scalars(select(Answer.delivery_id).where(Answer.round_id == round_id)).all()
        others = set(session.scalars(select(Delivery.id).where(Delivery.round_id == round_id)))
        assert linked.count(None) == len(linked) // 2 and {d for d in linked if d} <= others
        assert session.scalar(select(Comment.delivery_id).where(Comment.text == "more coffee")) is None
        assert home_model(session, "U00000000").history.total_rounds == 0


def test_the_privacy_promise_uses_the_smallest_k_of_the_members_teams_or_the_workspace_default(
    world: PulseWorld,
) -> None:
    world.add_team("Support", 0, 6, anonymity_threshold=7)
    world.add_team("Billing", 3, 6, anonymity_threshold=4)
    with transaction(world.factory) as session:
        set_default_threshold(session, 8)
    with world.factory.begin() as session:
        assert home_model(session, "U00000000").threshold == 7
        assert home_model(session, "U00000004").threshold == 4  # in both teams
        stranger = home_model(session, "U0NOBODY")
    assert stranger.threshold == 8 and not stranger.in_directory and stranger.teams == ()
    assert stranger.history.total_rounds == 0 and stranger.admin is None and stranger.managed == ()


def test_the_workspace_default_threshold_is_five_until_set_and_stays_between_3_and_10(world: PulseWorld) -> None:
    with transaction(world.factory) as session:
        assert default_threshold(session) == 5
        set_default_threshold(session, 3)
        set_default_threshold(session, 6)
    with world.factory() as session:
        assert default_threshold(session) == 6
    for k in (2, 11):
        with pytest.raises(ValueError), transaction(world.factory) as session:
            set_default_threshold(session, k)


def add_teams(world: PulseWorld, count: int, people: int, first: int = 1000, **settings: Any) -> None:
    """Many teams quickly (no Slack): each has `people` members of its own, from user number `first` on."""
    with transaction(world.factory) as session:
        users = [make_user(n) for n in range(first, first + count * people)]
        upsert_members(session, [r for u in users if (r := member_from_slack(u))], world.now)
        ids = {slack_id: member_id for slack_id, member_id in session.execute(select(Member.slack_user_id, Member.id))}
        for i in range(count):
            team = create_team(session, f"Team {first + i:05d}", world.now, **settings)
            add_team_members(session, team.id, [ids[u["id"]] for u in users[i * people : (i + 1) * people]])


def test_configuration_problems_name_each_broken_team_in_one_line(world: PulseWorld) -> None:
    working = {"channel_id": "C1", "channel_ok": True, "manager_user_id": "U00000000"}
    world.add_team("Fine", 0, 6, **working)
    world.add_team("No channel", 10, 6, manager_user_id="U00000000")
    world.add_team("Locked out", 20, 6, **{**working, "channel_id": "C2", "channel_ok": False})
    world.add_team("<!channel> tiny", 30, 3, channel_id="C3", channel_ok=True)
    world.add_team("Thinned out", 40, 6, **working)
    with transaction(world.factory) as session:
        # Left the workspace, or opted out: neither can answer, so the team falls below k = 5.
        session.execute(update(Member).where(Member.slack_user_id == "U00000040").values(active=False))
        session.execute(update(Member).where(Member.slack_user_id == "U00000041").values(opted_out=True))
        problems = configuration_problems(session)
    assert problems == [
        "*&lt;!channel&gt; tiny*: 3 people can answer, fewer than its threshold of 5: its results never show; "
        "no manager (`/pulse team manager NAME @person`)",
        "*Locked out*: Tandem cannot post in <#C2> (type `/invite @Tandem` there)",
        "*No channel*: no digest channel (`/pulse team channel NAME #channel`)",
        "*Thinned out*: 4 people can answer, fewer than its threshold of 5: its results never show",
    ]


def test_configuration_problems_stop_at_the_limit_and_count_the_rest_in_two_queries(world: PulseWorld) -> None:
    add_teams(world, 60, people=2)
    with world.factory() as session, counted_statements(world.engine) as statements:
        problems = configuration_problems(session)
    assert len(problems) == 51 and problems[-1] == "… and 10 more teams with problems"
    assert len(statements) == 2  # the members who cannot answer, then the teams with their sizes


def test_the_home_reads_a_fixed_number_of_queries_whatever_the_number_of_teams(world: PulseWorld) -> None:
    def statements_for(teams: int, first: int) -> int:
        add_teams(world, teams, people=3, first=first, manager_user_id="U00000000")
        with world.factory.begin() as session, counted_statements(world.engine) as statements:
            model = home_for(session, "U00000000")
        assert model.admin is not None and model.history.total_rounds == 1 and model.managed[0].shown
        return len(statements)

    support = world.add_team("Support", 0, 6, manager_user_id="U00000000")
    run_round(world, support, {f"U0000000{i}": 3 for i in range(6)})
    few = statements_for(2, first=1000)
    assert few == statements_for(40, first=2000) and few <= 15


def test_onboarding_steps_are_done_as_the_database_fills_in(world: PulseWorld) -> None:
    def done() -> list[bool]:
        with world.factory() as session:
            return [step.done for step in onboarding_steps(session)]

    assert done() == [False] * 5
    team = world.add_team("Support", 0, 6)
    assert done() == [True, True, False, False, False]
    set_team(world, team, channel_id="C1")
    with transaction(world.factory) as session:
        session.add(AuditEntry(at=world.now, actor_user_id="U00000000", action="schedule", detail="Support weekly"))
        session.add(HelpdeskGroup(name_key="tier 1", name="Tier 1", team_id=team, created_at=world.now))
    assert done() == [True] * 5
    with world.factory() as session:
        steps = onboarding_steps(session)
    assert [s.how for s in steps][1:] == [
        "`/pulse team create NAME`",
        "`/pulse team channel NAME #channel`",
        "`/pulse schedule NAME weekly tue 10:00`",
        '`/pulse helpdesk group "Group name" NAME`',
    ]
    assert "tandem users sync" in steps[0].how


def test_an_admin_gets_the_overview_and_a_member_does_not(world: PulseWorld) -> None:
    world.add_team("Support", 0, 6)
    world.add_team("Sales", 6, 6, paused=True)
    with world.factory.begin() as session:
        admin = home_model(session, "U00000000").admin  # make_user(0) is the workspace owner
        member = home_model(session, "U00000001")
    assert admin is not None and (admin.teams, admin.paused_teams, admin.members) == (2, 1, 12)
    assert admin.onboarding_open and len(admin.problems) == 2  # neither has a channel or a manager
    assert member.admin is None


def test_a_cell_under_k_says_not_enough_answers_to_show_and_hides_what_the_digest_hides(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)  # k = 5
    set_team(world, team, manager_user_id="UMANAGER")
    shown, hidden = BANK.drivers[0], BANK.drivers[1]
    # An imported round (no ledger, and nothing dropped at close as Tandem's own rounds are): six people
    # answered, but one driver's question only three times and eNPS only twice.
    with transaction(world.factory) as session:
        seed_questions(session, BANK.all_questions(), world.now)
        first = {
            d: session.scalar(select(func.min(QuestionVersion.id)).where(QuestionVersion.driver == d))
            for d in (shown, hidden, "enps")
        }
        imported = insert_imported_round(session, team, world.now.date(), world.now, 5, respondents=6)
        assert imported is not None
        insert_answers(
            session, imported.id, [(first[shown], 4)] * 6 + [(first[hidden], 2)] * 3 + [(first["enps"], 9)] * 2
        )
    with world.factory.begin() as session:
        (summary,) = home_for(session, "UMANAGER").managed
        digest = published_panel(session, world.now.date())
    assert summary.shown and (summary.asked, summary.answered, summary.enps) == (0, 6, None)
    cells = {d.driver: d for d in summary.drivers}
    assert cells[shown].average == 4 and cells[shown].answers == 6
    assert cells[hidden].hidden and summary.enps_hidden and "enps" not in cells

    # The digest's cells of that team and week: the same values shown, the same ones hidden.
    drivers = digest.drivers[
        (digest.drivers["team_id"] == team) & (digest.drivers["week"] == pd.Timestamp(week_monday(world.now.date())))
    ]
    by_driver = {row.driver: row for row in drivers.itertuples()}
    assert by_driver[shown].mean == 4 and not by_driver[shown].mean_suppressed
    assert by_driver[hidden].mean_suppressed and math.isnan(by_driver[hidden].mean)

    text = json.dumps(published(world, "UMANAGER"))
    assert f"{BANK.driver_names[hidden]}: not enough answers to show" in text
    assert "eNPS: not enough answers to show" in text
    assert f"{BANK.driver_names[shown]}: *4.0* of 5" in text and "*2.0* of 5" not in text
    assert "6 people answered" in text
