"""manifest.yml is valid against Slack's published schema and asks for what Tandem uses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.settings import Secret, Settings
from bot.slack_app import build_slack_app
from bot.slack_client import make_web_client
from jobs.question_bank import load_default_bank
from storage.db import make_engine, make_session_factory

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_it_is_valid_against_slacks_manifest_schema(manifest: dict[str, Any]) -> None:
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_the_schema_check_would_catch_a_broken_manifest(manifest: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(manifest))
    broken["features"]["slash_commands"][0]["command"] = "pulse"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_it_asks_for_every_bot_scope_the_product_needs(manifest: dict[str, Any]) -> None:
    needed = {
        "chat:write",
        "im:write",
        "users:read",
        "users:read.email",
        "commands",
        "files:write",
        "usergroups:read",
        "channels:read",
        "groups:read",
    }
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_every_slack_surface_points_at_the_one_events_url(manifest: dict[str, Any]) -> None:
    urls = {
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(command["url"] for command in manifest["features"]["slash_commands"]),
    }
    assert len(urls) == 1
    assert urls.pop().endswith("/slack/events")


def test_it_has_the_pulse_command_the_home_tab_and_the_events_tandem_handles(manifest: dict[str, Any]) -> None:
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/pulse"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert {"app_home_opened", "team_join", "user_change"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )


def test_it_subscribes_to_every_event_type_tandem_has_a_handler_for(manifest: dict[str, Any]) -> None:
    settings = Settings(slack_bot_token=Secret("xoxb-test"), slack_signing_secret=Secret("secret"))
    factory = make_session_factory(make_engine("sqlite://"))
    slack = build_slack_app(settings, make_web_client(settings), factory, clock=datetime.now, bank=load_default_bank())
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert slack.events.event_types, "the event table has handlers"
    assert slack.events.event_types <= subscribed, "Slack sends only what the manifest subscribes to"
