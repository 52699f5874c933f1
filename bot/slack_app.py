"""The bolt App factory: configuration in, listeners registered explicitly, nothing read from os.environ."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.listeners import register_listeners
from bot.listeners.events import EventTable
from bot.settings import Settings
from jobs.question_bank import QuestionBank
from storage.db import SessionFactory

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Slow work that listeners hand on after their ack (recording a click, updating the DM, opening a
# modal), so the request thread answers Slack as soon as the listener returns.
BACKGROUND_THREADS = 2


class _IgnoreEnvironmentTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from os.environ by itself and warns that the client we pass wins.

    It does (the client carries Tandem's base URL and retry handlers), so the warning says nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_IgnoreEnvironmentTokenWarning())


@dataclass(frozen=True)
class SlackApp:
    """Tandem's listeners: bolt's app for what Slack awaits an answer from (commands, buttons, modals),
    and the event table for Events API callbacks, which are answered before they run."""

    bolt: App
    events: EventTable


def build_slack_app(
    settings: Settings, client: WebClient, factory: SessionFactory, clock: Clock, bank: QuestionBank
) -> SlackApp:
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # The HTTP edge verifies signatures on the raw bytes before anything is stored
        # (bot/slack_requests.py), so bolt does not do it a second time.
        request_verification_enabled=False,
        # `tandem serve` checks the token once at start-up, not once per worker.
        token_verification_enabled=False,
        # Listeners run on the request's own thread and Slack is answered when they return. bolt's
        # default instead runs each one on a pool thread while the request thread polls every 10 ms
        # for the ack: in a burst of clicks that hop and poll were most of the acknowledgement time.
        # So a listener acks, then hands slow work to `background`. Events API callbacks are acked by
        # the HTTP edge itself and run from the event table after the answer (bot/listeners/events.py).
        process_before_response=True,
    )
    app.error(_log_listener_error)
    background = ThreadPoolExecutor(max_workers=BACKGROUND_THREADS, thread_name_prefix="after-ack")
    events = EventTable(client)
    register_listeners(app, events, factory, clock, bank, background)
    return SlackApp(app, events)


def _log_listener_error(error: Exception, body: dict[str, Any], context: Any, response: BoltResponse | None) -> None:
    """Log with the request id; Slack gets a bare status, never a stack trace."""
    log.error(
        "listener failed for a %s request: %s",
        body.get("type", "unknown"),
        error.__class__.__name__,
        exc_info=error,
        extra={"request_id": context.get("request_id")},
    )
