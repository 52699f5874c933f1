"""The pulse DM's buttons and comment modal. Each listener acknowledges, then hands its Slack and database work on."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.pulse import (
    ANSWER_ACTION,
    COMMENT_ABOUT_OTHER,
    COMMENT_ACTION,
    COMMENT_CALLBACK,
    SKIP_ACTION,
    comment_modal,
)
from bot.listeners.after_ack import after_ack, logged
from bot.notifier import SlackNotifier
from jobs import pulse_answers
from jobs.pulse_answers import Refused
from storage.db import SessionFactory

log = logging.getLogger(__name__)

UNKNOWN_BUTTON = "That button is not one Tandem knows (it may be from an old message), so nothing was recorded."


# Updates of one DM from concurrent clicks can reach Slack out of order; each click re-checks at most
# this many times that the DM shows what is stored.
MAX_REFRESHES = 3


def register(
    app: App,
    factory: SessionFactory,
    clock: Callable[[], datetime],
    labels: tuple[str, ...],
    driver_names: Mapping[str, str],
    background: Executor,
) -> None:
    # Slack is answered when a listener returns (bot/slack_app.py): ack, then hand the work on.
    def on_answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(background, record_answer, body, action, client)

    def record_answer(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        if action["action_id"] == SKIP_ACTION:
            value: int | None = None
        else:
            try:
                value = int(action["action_id"].split(":", 1)[1])
            except ValueError:
                _tell(client, body, UNKNOWN_BUTTON)
                return
        result = pulse_answers.answer(factory, labels, user, str(action.get("value") or ""), value, clock())
        if isinstance(result, Refused):
            _tell(client, body, result.reason)
            return
        container = body.get("container") or {}
        channel = result.channel_id or container.get("channel_id")
        ts = result.message_ts or container.get("message_ts")
        if not (channel and ts):
            return
        notifier, view = SlackNotifier(client), result.view
        for _ in range(MAX_REFRESHES):
            notifier.show_pulse(channel, ts, view)
            latest = pulse_answers.latest_answers(factory, result.delivery_id)
            if latest == view.answers:
                return
            view = replace(view, answers=latest)

    def on_comment_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        logged(open_comment_modal, body, action, client)  # now: the trigger id expires in 3 s

    def open_comment_modal(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        form = pulse_answers.comment_form(factory, body["user"]["id"], str(action.get("value") or ""), clock())
        if isinstance(form, Refused):
            _tell(client, body, form.reason)
            return
        drivers = [(key, driver_names.get(key, key)) for key in form.drivers]
        client.views_open(trigger_id=body["trigger_id"], view=comment_modal(form.round_id, form.threshold, drivers))

    def on_comment(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Checked before the ack: a refusal is shown in the modal itself (response_action "errors").
        try:
            round_id = int(json.loads(view.get("private_metadata") or "{}")["r"])
        except (ValueError, TypeError, KeyError):
            ack(response_action="errors", errors={"comment": pulse_answers.NOT_YOURS})
            return
        values = (view.get("state") or {}).get("values") or {}
        text = ((values.get("comment") or {}).get("text") or {}).get("value") or ""
        about = (((values.get("about") or {}).get("driver") or {}).get("selected_option") or {}).get("value")
        driver = None if about in (None, COMMENT_ABOUT_OTHER) else str(about)
        refused = pulse_answers.comment(factory, body["user"]["id"], round_id, driver, str(text), clock())
        if refused is not None:
            ack(response_action="errors", errors={"comment": refused.reason})
            return
        ack()

    def on_unknown_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(background, _tell, client, body, UNKNOWN_BUTTON)

    app.action(re.compile(rf"^(?:{re.escape(ANSWER_ACTION)}:.*|{re.escape(SKIP_ACTION)})$"))(on_answer)
    app.action(COMMENT_ACTION)(on_comment_button)
    app.view(COMMENT_CALLBACK)(on_comment)
    # Registered last, so it only sees buttons no other listener claimed (bolt runs the first match).
    app.action(re.compile(".*"))(on_unknown_button)


def _tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the person who clicked, in the conversation where they clicked."""
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    if not channel:
        log.info("could not tell %s: %s", body.get("user", {}).get("id"), text)
        return
    client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)
