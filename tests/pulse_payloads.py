"""Interaction payloads shaped like Slack's (from ../shared/fixtures/slack), for the pulse DM."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.slack_signing import fixture


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def answer_buttons(blocks: list[dict[str, Any]], question_index: int = 0) -> list[dict[str, Any]]:
    """The buttons of the question at `question_index` (answers 1-5 or 0-10, then Skip)."""
    rows = [b for b in blocks if b["type"] == "actions" and b.get("block_id", "").startswith("a")]
    return rows[question_index]["elements"]


def button_click(user_id: str, channel: str, ts: str, button: dict[str, Any]) -> dict[str, Any]:
    payload = fixture("block_actions_message_button.bolt.json")
    payload["user"] = {**payload["user"], "id": user_id, "username": user_id.lower(), "name": user_id.lower()}
    payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
    payload["channel"] = {"id": channel, "name": "directmessage"}
    payload["trigger_id"] = f"{time.time():.6f}.trigger"
    payload["actions"] = [
        {
            "action_id": button["action_id"],
            "block_id": "b",
            "text": button["text"],
            "value": button["value"],
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
    ]
    return payload


def comment_submission(user_id: str, private_metadata: str, text: str, driver: str | None = None) -> dict[str, Any]:
    payload = fixture("view_submission.bolt.json")
    payload["user"] = {**payload["user"], "id": user_id}
    values: dict[str, Any] = {"comment": {"text": {"type": "plain_text_input", "value": text}}}
    if driver is not None:
        values["about"] = {"driver": {"type": "static_select", "selected_option": {"value": driver}}}
    payload["view"] = {
        **payload["view"],
        "callback_id": "pulse_comment",
        "private_metadata": private_metadata,
        "state": {"values": values},
    }
    return payload


def slash_command(user_id: str, text: str) -> dict[str, str]:
    fields = fixture("slash_command.bolt.fields.json")
    return {**fields, "command": "/pulse", "text": text, "user_id": user_id, "user_name": user_id.lower()}


def value_of(button: dict[str, Any]) -> dict[str, Any]:
    return json.loads(button["value"])
