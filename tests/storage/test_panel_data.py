"""The panel's inputs as the database aggregates them, from real rounds and real helpdesk events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

from jobs.panel import build_panel
from storage.db import transaction
from storage.helpdesk_events import store_events
from storage.panel_data import load_panel_data, week_monday
from tests.pulse_fixtures import PulseWorld, make_world, run_round
from tests.slack_standin import SlackStandin

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
MONDAY = date(2026, 11, 2)
OPTIONAL = ("rating_good", "rating_score", "first_response_seconds", "resolution_seconds")


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    return make_world(engine, standin, START)


def outcome(ticket: str, kind: str, at: datetime, email: str, **values: object) -> dict[str, object]:
    return {
        "event_key": f"{ticket}:{kind}",
        "kind": kind,
        "ticket_id": ticket,
        "occurred_at": at,
        "agent_email": email,
        "agent_id": None,
        "group_key": None,
        "group_name": None,
        "ticket_created_at": None,
        **{field: None for field in OPTIONAL},
        **values,
    }


def test_it_aggregates_closed_rounds_per_week_and_skips_weeks_without_data(world: PulseWorld) -> None:
    team = world.add_team("Support", first_user=1, size=6)
    run_round(world, team, {f"U{i:08d}": 4 for i in range(1, 6)})  # week of Nov 2: 5 of 6 answer "4"
    world.now += timedelta(days=7)  # nothing in the week of Nov 9
    run_round(world, team, {f"U{i:08d}": 2 for i in range(1, 7)})  # week of Nov 16: all 6 answer "2"
    weeks = [MONDAY + timedelta(weeks=i) for i in range(3)]

    with world.factory() as session:
        data = load_panel_data(session, weeks[0], weeks[-1])
    result = build_panel(data, weeks)
    panel = result.panel.set_index("week")

    assert panel.loc[pd.Timestamp(weeks[0]), "respondents"] == 5
    assert panel.loc[pd.Timestamp(weeks[0]), "participation"] == pytest.approx(5 / 6)
    assert panel.loc[pd.Timestamp(weeks[0]), "engagement"] == pytest.approx(75.0)
    assert pd.isna(panel.loc[pd.Timestamp(weeks[1]), "engagement"])
    last_drivers = result.drivers[result.drivers["week"] == pd.Timestamp(weeks[2])]
    assert (last_drivers["mean"] == 2.0).all() and len(last_drivers) > 0
    # Drivers rotated out this week still count with their mean from two weeks ago (4-week window).
    assert 25.0 <= panel.loc[pd.Timestamp(weeks[2]), "engagement"] < 75.0
    assert panel.loc[pd.Timestamp(weeks[2]), "asked"] == 6


def test_open_rounds_do_not_count_until_they_close(world: PulseWorld) -> None:
    team = world.add_team("Support", first_user=1, size=6)
    run_round(world, team, {f"U{i:08d}": 4 for i in range(1, 7)}, close=False)
    with world.factory() as session:
        data = load_panel_data(session, MONDAY, MONDAY)
    assert data.rounds.empty
    assert data.answers.empty


def test_it_credits_helpdesk_outcomes_to_the_agents_team_by_utc_week(world: PulseWorld) -> None:
    team = world.add_team("Support", first_user=1, size=6)
    world.add_team("Sales", first_user=20, size=5)
    agent = "person1@example.com"
    sunday_night = datetime(2026, 11, 8, 23, 59, tzinfo=UTC)
    with transaction(world.factory) as session:
        store_events(
            session,
            "generic",
            None,
            [
                outcome("1", "solved", sunday_night, agent, first_response_seconds=60, resolution_seconds=600),
                outcome("1", "rated", sunday_night, agent, rating_good=True),
                outcome("2", "solved", sunday_night + timedelta(minutes=2), agent, first_response_seconds=180),
                outcome("2", "rated", sunday_night + timedelta(minutes=2), agent, rating_score=2),
                outcome("2", "reopened", sunday_night + timedelta(hours=1), agent),
                outcome("3", "solved", sunday_night, "stranger@example.com"),  # nobody's: not credited
            ],
        )
    weeks = [MONDAY, MONDAY + timedelta(weeks=1)]
    with world.factory() as session:
        data = load_panel_data(session, weeks[0], weeks[-1])
    panel = build_panel(data, weeks).panel.set_index(["team_id", "week"])

    first, second = panel.loc[(team, pd.Timestamp(weeks[0]))], panel.loc[(team, pd.Timestamp(weeks[1]))]
    assert (first["solved"], first["rated"], first["csat"], first["agents"]) == (1, 1, 100.0, 1)
    assert (second["solved"], second["reopened"], second["rated"], second["csat"]) == (1, 1, 1, 0.0)
    assert second["first_response_median"] == pytest.approx(180.0)
    assert first["resolution_median"] == pytest.approx(600.0)
    assert panel["solved"].sum() == 2


def test_week_monday_is_the_iso_weeks_monday() -> None:
    assert week_monday(date(2026, 11, 22)) == date(2026, 11, 16)
    assert week_monday(date(2026, 11, 16)) == date(2026, 11, 16)
