"""Publishing the App Home in order: a Home read earlier never overwrites one read later (bot/home.py).

Real parts: the database, the Slack stand-in answering views.publish with hashes and hash_conflict as
Slack does, and the real WebClient. The two publishes of two quick clicks are interleaved by hand: one
is read, a newer one is read and published, then the first arrives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.home import publish_home, read_home, send_home
from bot.settings import Secret, Settings
from bot.slack_client import make_web_client
from storage.db import transaction
from storage.members import record_opt_choice
from tests.pulse_fixtures import PulseWorld, make_world
from tests.slack_standin import BOT_TOKEN, SlackStandin

USER = "U00000003"


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    world = make_world(engine, standin, datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    world.add_team("Support", 0, 6)
    return world


@pytest.fixture
def client(standin: SlackStandin) -> WebClient:
    return make_web_client(Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url))


def opt(world: PulseWorld, out: bool) -> None:
    with transaction(world.factory) as session:
        record_opt_choice(session, USER, "person3", out, world.now)


def shown_buttons(standin: SlackStandin) -> set[str]:
    home = standin.home_of(USER)
    assert home is not None
    return {e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_it_publishes_the_newest_home_when_an_older_read_arrives_last(
    world: PulseWorld, standin: SlackStandin, client: WebClient
) -> None:
    publish_home(client, world.factory, USER)
    first_hash = standin.home_of(USER)["hash"]  # type: ignore[index]

    opt(world, out=True)  # the first click's change; its Home is read and held up on its way
    slow = read_home(client, world.factory, USER, first_hash)
    opt(world, out=False)  # the second click's change; its Home is read and published at once
    publish_home(client, world.factory, USER, first_hash)
    assert shown_buttons(standin) == {"home_opt_out"}

    send_home(client, world.factory, slow)  # the first click's Home arrives last, naming the old hash

    assert shown_buttons(standin) == {"home_opt_out"}  # still the newest: opted back in
    refused = [c for c in standin.calls_to("views.publish") if c.body.get("hash") == first_hash]
    assert len(refused) == 2  # the second click's (accepted), then the slow one's (refused)


def test_a_publish_naming_an_old_hash_is_refused_with_hash_conflict(
    world: PulseWorld, standin: SlackStandin, client: WebClient
) -> None:
    publish_home(client, world.factory, USER)
    old = standin.home_of(USER)
    assert old is not None
    opt(world, out=True)
    publish_home(client, world.factory, USER, old["hash"])
    newer = standin.home_of(USER)
    assert newer is not None and newer["hash"] != old["hash"]

    stale: dict[str, Any] = {"type": "home", "blocks": old["blocks"]}
    with pytest.raises(SlackApiError) as refused:
        client.views_publish(user_id=USER, view=stale, hash=old["hash"])
    assert refused.value.response["error"] == "hash_conflict"
    assert standin.home_of(USER) == newer


def test_a_first_home_without_a_hash_is_published_once_when_nothing_changes(
    world: PulseWorld, standin: SlackStandin, client: WebClient
) -> None:
    publish_home(client, world.factory, "U00000004")
    (call,) = standin.calls_to("views.publish")
    assert "hash" not in call.body
    view = call.body["view"]
    assert (json.loads(view) if isinstance(view, str) else view)["type"] == "home"
    assert standin.home_of("U00000004") is not None
