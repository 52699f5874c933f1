"""Keep the member directory current between daily syncs: new people, changed profiles, departures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.listeners.events import EventContext, EventTable
from jobs.members import member_from_slack
from storage.db import SessionFactory, transaction
from storage.members import upsert_members


def register(events: EventTable, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
    def store_user(event: dict[str, Any], _context: EventContext) -> None:
        record = member_from_slack(event.get("user") or {})
        if record is None:
            return
        with transaction(factory) as session:
            upsert_members(session, [record], clock())

    events.on("team_join", store_user)
    events.on("user_change", store_user)
