"""Events API: an explicit table of handlers, one per event type, run after Slack has its answer.

Events do not go through bolt. bolt's worth is the ack: a command's reply, a modal's inline errors, a
listener that answers before Slack's 3 s are up. An event's answer is a bare 200 the HTTP edge gives
before any listener runs (bot/event_inbox.py), so bolt would only add its per-request work (a client
and context built, every listener's matcher tried: 0.2 ms of CPU an event on a busy server). The table
gives handlers what they used from bolt's context: the Web API client and the bot's own user id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventContext:
    client: WebClient
    bot_user_id: str
    request_id: str


EventHandler = Callable[[dict[str, Any], EventContext], None]


class EventTable:
    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._handlers: dict[str, EventHandler] = {}
        self._bot_user_id = ""
        self._bot_user_lock = threading.Lock()

    def on(self, event_type: str, handler: EventHandler) -> None:
        if event_type in self._handlers:
            raise ValueError(f"{event_type} already has a handler")
        self._handlers[event_type] = handler

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def run(self, payload: dict[str, Any], request_id: str) -> None:
        """Run the handler for an event_callback's event, if any; a failure is logged with the request id."""
        event = payload.get("event")
        event_type = event.get("type") if isinstance(event, dict) else None
        handler = self._handlers.get(event_type) if isinstance(event_type, str) else None
        if handler is None:
            # Slack sends only what manifest.yml subscribes to, so this is rare: acknowledged and dropped.
            log.debug("ignoring %s event", event_type)
            return
        try:
            handler(event, EventContext(self._client, self.bot_user_id(), request_id))  # type: ignore[arg-type]
        except Exception as error:
            log.error(
                "listener failed for a %s event: %s",
                event_type,
                error.__class__.__name__,
                exc_info=error,
                extra={"request_id": request_id},
            )

    def bot_user_id(self) -> str:
        """Tandem's own user id (auth.test), asked once per process: some events are about the bot itself."""
        with self._bot_user_lock:
            if not self._bot_user_id:
                self._bot_user_id = str(self._client.auth_test().get("user_id") or "")
            return self._bot_user_id
