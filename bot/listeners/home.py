"""The App Home: published when someone opens it, and again after each of its buttons.

Buttons acknowledge first; then, on the background pool, they change the database in one transaction and
publish the new Home, guarded
by the hash of the Home they were clicked in so a slower, older publish cannot overwrite it (bot/home.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.home import DELETE_HISTORY_ACTION, OPT_IN_ACTION, OPT_OUT_ACTION
from bot.home import hash_in, publish_home
from bot.listeners.after_ack import after_ack
from bot.listeners.events import EventContext, EventTable
from bot.slack_membership import SlackMembershipClient
from jobs.membership import learn_members
from storage.db import SessionFactory, transaction
from storage.home import delete_participation
from storage.members import record_opt_choice

log = logging.getLogger(__name__)


def register(
    app: App, events: EventTable, factory: SessionFactory, clock: Callable[[], datetime], background: Executor
) -> None:
    def on_home_opened(event: dict[str, Any], context: EventContext) -> None:
        user_id = event.get("user")
        # The same event fires for the Messages tab; only the Home tab is Tandem's to draw.
        if event.get("tab") != "home" or not isinstance(user_id, str):
            return
        # On a fresh install the admin opening the Home is not in the directory yet: without a lookup
        # nothing would say they are an admin, and they would not see the set-up checklist.
        learn_members(factory, SlackMembershipClient(context.client), [user_id], clock())
        # The event carries the Home Slack shows, if any: its hash guards the publish (bot/home.py).
        publish_home(context.client, factory, user_id, hash_in(event))

    def on_opt(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(background, opt, body, action["action_id"] == OPT_OUT_ACTION, client)

    def opt(body: dict[str, Any], opted_out: bool, client: WebClient) -> None:
        user = body["user"]
        name = str(user.get("username") or user.get("name") or "")
        with transaction(factory) as session:
            record_opt_choice(session, user["id"], name, opted_out, clock())
        publish_home(client, factory, user["id"], hash_in(body))

    def on_delete_history(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(background, delete_history, body, client)

    def delete_history(body: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        with transaction(factory) as session:
            deleted = delete_participation(session, user_id)
        log.info("deleted a member's participation history: %d deliveries", deleted)
        publish_home(client, factory, user_id, hash_in(body))

    events.on("app_home_opened", on_home_opened)
    app.action(OPT_OUT_ACTION)(on_opt)
    app.action(OPT_IN_ACTION)(on_opt)
    app.action(DELETE_HISTORY_ACTION)(on_delete_history)
