"""The app removed from the workspace (uninstalled, or its bot token revoked): Tandem stops sending.

Slack refuses every call after that, so the scheduler would otherwise try each pulse, reminder, digest
and sync in turn and log a failure for each. The removal is kept in the database (every process and the
next start see it); the scheduler's tick checks it (jobs/scheduler.py), and `tandem serve` forgets it
once Slack accepts the token again at start-up (the app was installed again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.listeners.events import EventContext, EventTable
from storage.db import SessionFactory, transaction
from storage.workspace import mark_app_removed

log = logging.getLogger(__name__)


def register(events: EventTable, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
    def removed(event: dict[str, Any], _context: EventContext) -> None:
        kind = str(event.get("type"))
        tokens = event.get("tokens")
        if kind == "tokens_revoked" and not (isinstance(tokens, dict) and tokens.get("bot")):
            return  # only people's own tokens: the bot's still works
        with transaction(factory) as session:
            mark_app_removed(session, clock(), kind)
        log.warning(
            "Slack says Tandem was removed from the workspace (%s): no pulse, reminder, digest or sync is sent "
            "until it is installed again and `tandem serve` restarted",
            kind,
        )

    events.on("app_uninstalled", removed)
    events.on("tokens_revoked", removed)
