"""Digests built from real closed rounds and real helpdesk events, for every team at once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from jobs.digest_build import week_digests
from storage.db import transaction
from storage.helpdesk_events import store_events
from tests.pulse_fixtures import BANK, PulseWorld, make_world, run_round
from tests.slack_standin import SlackStandin

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    return make_world(engine, standin, START)


def solved(ticket: int, at: datetime, agent: int, good: bool) -> list[dict[str, object]]:
    base = {
        "ticket_id": str(ticket),
        "occurred_at": at,
        "agent_email": f"person{agent}@example.com",
        "agent_id": None,
        "group_key": None,
        "group_name": None,
        "ticket_created_at": None,
        "rating_score": None,
        "first_response_seconds": 600,
        "resolution_seconds": 7200,
    }
    return [
        {**base, "event_key": f"{ticket}:s", "kind": "solved", "rating_good": None},
        {**base, "event_key": f"{ticket}:r", "kind": "rated", "rating_good": good},
    ]


def test_a_team_gets_a_digest_with_scores_trends_and_customer_outcomes(world: PulseWorld) -> None:
    support = world.add_team("Support", first_user=1, size=6)
    tiny = world.add_team("Tiny", first_user=30, size=3)
    for week in range(5):
        value = 4 if week < 4 else 2
        run_round(world, support, {f"U{i:08d}": value for i in range(1, 7)})
        run_round(world, tiny, {f"U{i:08d}": 5 for i in range(30, 33)}, close=True)
        world.now -= timedelta(days=7)  # run_round moved the clock on for each team: once a week is enough
    events = []
    for ticket in range(40):
        at = START + timedelta(days=ticket % 35, hours=3)
        events += solved(ticket, at, agent=1 + ticket % 4, good=ticket % 5 != 0)
    with transaction(world.factory) as session:
        store_events(session, "generic", None, events)

    last_week = date(2026, 9, 28)
    with world.factory() as session:
        digests = {d.team: d for d in week_digests(session, last_week, BANK.driver_names)}

    team = digests["Support"]
    assert team.week == "2026-W40"
    assert team.respondents == 6
    engagement = next(line for line in team.ex if line.key == "engagement")
    assert engagement.value is not None and engagement.value < 75.0  # drivers asked earlier still count
    assert engagement.direction == "down"
    this_week = [line for line in team.drivers if line.asked_on is None]
    assert [line.value for line in this_week] == [2.0] * len(this_week) and this_week
    # Drivers asked in the three weeks before stay in the table, with their own (earlier) answers and week.
    earlier = [line for line in team.drivers if line.asked_on is not None]
    assert earlier and all(line.value == 4.0 and last_week - line.asked_on <= timedelta(weeks=3) for line in earlier)
    assert not {line.key for line in earlier} & {line.key for line in this_week}
    shown = json.loads(json.dumps(team.as_json()))["drivers"]
    assert {line["asked_on"] for line in shown} == {None, *(line.asked_on.isoformat() for line in earlier)}
    csat = next(line for line in team.cx if line.key == "csat")
    assert csat.value is not None
    assert team.chart_weeks[-1] == last_week
    small = digests["Tiny"]
    assert all(line.value is None for line in small.ex if line.key == "engagement")
    assert next(line for line in small.ex if line.key == "engagement").note == "not enough answers to show"
