"""Every Slack surface registers its listeners here, in one place."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime

from slack_bolt import App

from bot.listeners import commands, directory, home, installation, pulse, team_links
from bot.listeners.events import EventTable
from bot.slack_membership import SlackMembershipClient
from jobs.question_bank import QuestionBank
from storage.db import SessionFactory


def register_listeners(
    app: App,
    events: EventTable,
    factory: SessionFactory,
    clock: Callable[[], datetime],
    bank: QuestionBank,
    background: Executor,
) -> None:
    directory.register(events, factory, clock)
    installation.register(events, factory, clock)
    slack = SlackMembershipClient(app.client)
    team_links.register(events, factory, clock, slack)
    home.register(app, events, factory, clock, background)
    commands.register(app, factory, clock, bank, background, slack)
    # Last: its catch-all answers buttons that no other surface claims.
    pulse.register(app, factory, clock, bank.agreement_labels, bank.driver_names, background)
