"""When Slack removes the app (uninstalled, or its bot token revoked), Tandem stops its scheduled work until
it is installed again: signed events through the real HTTP server, then the scheduler's tick."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.listeners import installation
from bot.listeners.events import EventTable
from jobs.periods import Daily
from jobs.scheduler import RecurringJob, run_tick
from storage.db import transaction
from storage.workspace import app_removed, clear_app_removed
from tests.live_server import LiveServer
from tests.pulse_fixtures import PulseWorld, make_world, serve_tandem
from tests.slack_signing import event_callback, json_request
from tests.slack_standin import BOT_TOKEN, BOT_USER_ID, SlackStandin
from tests.waiting import wait_until

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
_event_ids = itertools.count(1)


@pytest.fixture
def served(engine: Engine, standin: SlackStandin) -> Iterator[tuple[PulseWorld, LiveServer]]:
    world = make_world(engine, standin, NOW)
    with serve_tandem(engine, standin, world.factory, world.clock) as server:
        yield world, server


def send(server: LiveServer, event: dict[str, Any]) -> None:
    reply = server.request("POST", "/slack/events", *json_request(event_callback(event, f"EvGONE{next(_event_ids)}")))
    assert reply.status == 200


def removal(world: PulseWorld) -> str | None:
    with world.factory() as session:
        return app_removed(session)


def test_an_uninstall_stops_every_scheduled_job_until_the_app_is_back(served: tuple[PulseWorld, LiveServer]) -> None:
    world, server = served
    ran: list[str] = []
    jobs = [RecurringJob("directory-sync", Daily(time(3, 0)), lambda now: ran.append("sync") or "synced")]
    tick = [lambda now: ran.append("pulses")]

    send(server, {"type": "app_uninstalled"})
    wait_until(lambda: removal(world) is not None, what="the removal to be stored")
    assert removal(world) == f"{NOW.isoformat()} app_uninstalled"
    run_tick(jobs, tick, world.factory, NOW)
    assert ran == []

    with transaction(world.factory) as session:  # what `tandem serve` does once Slack accepts the token again
        assert clear_app_removed(session) == f"{NOW.isoformat()} app_uninstalled"
    run_tick(jobs, tick, world.factory, NOW)
    assert ran == ["sync", "pulses"]


def test_a_revoked_bot_token_counts_as_a_removal_and_a_revoked_user_token_does_not(
    engine: Engine, standin: SlackStandin
) -> None:
    world = make_world(engine, standin, NOW)
    events = EventTable(WebClient(token=BOT_TOKEN, base_url=standin.base_url))
    installation.register(events, world.factory, world.clock)
    events.run(event_callback({"type": "tokens_revoked", "tokens": {"oauth": ["U0PERSON1"]}}, "EvGONE-1"), "r-1")
    assert removal(world) is None
    events.run(
        event_callback(
            {"type": "tokens_revoked", "tokens": {"oauth": ["U0PERSON1"], "bot": [BOT_USER_ID]}}, "EvGONE-2"
        ),
        "r-2",
    )
    assert removal(world) == f"{NOW.isoformat()} tokens_revoked"
