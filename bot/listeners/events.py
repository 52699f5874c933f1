"""Events API: one bolt listener that routes each event through an explicit table of handlers.

One listener instead of one per event type: bolt evaluates every listener's matcher on every
request, and that matching is most of its per-event cost. Events nobody handles are acknowledged
and dropped (Slack only sends what manifest.yml subscribes to, so that is rare).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any], BoltContext], None]


class EventTable:
    def __init__(self) -> None:
        self._handlers: dict[str, EventHandler] = {}

    def on(self, event_type: str, handler: EventHandler) -> None:
        if event_type in self._handlers:
            raise ValueError(f"{event_type} already has a handler")
        self._handlers[event_type] = handler

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def attach(self, app: App) -> None:
        def route(event: dict[str, Any], context: BoltContext) -> None:
            handler = self._handlers.get(event.get("type", ""))
            if handler is None:
                log.debug("ignoring %s event", event.get("type"))
                return
            handler(event, context)

        app.event(re.compile(".*"))(route)
