"""Every Slack surface registers its listeners here, in one place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt import App

from bot.listeners import directory
from bot.listeners.events import EventTable
from storage.db import SessionFactory


def register_listeners(app: App, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
    events = EventTable()
    directory.register(events, factory, clock)
    events.attach(app)
