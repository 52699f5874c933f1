"""The port through which jobs reach Slack. `bot.notifier` implements it; tests may implement it too.

Failures are told apart because the fan-out treats them differently: a rate limit pauses every send,
a passing failure is retried with backoff, an undeliverable member is marked inactive and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.records import PulseView


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class Undeliverable(Exception):
    """The person cannot get a DM from Tandem (left Slack, deactivated, or blocks the bot)."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class SendFailed(Exception):
    """A failure that may pass (a 5xx, a timeout, a dropped connection) or an error Slack gave."""

    def __init__(self, reason: str, passing: bool) -> None:
        super().__init__(reason)
        self.passing = passing


class PulseNotifier(Protocol):
    def send_pulse(self, user_id: str, view: PulseView, delivery_id: int) -> Posted: ...

    def find_pulse(self, user_id: str, delivery_id: int, since: datetime) -> Posted | None:
        """The pulse DM for `delivery_id` if it was posted after `since` (to settle a crashed send)."""
        ...

    def show_pulse(self, channel: str, ts: str, view: PulseView) -> None: ...

    def show_closed(self, channel: str, ts: str, took_part: bool, threshold: int) -> None: ...

    def remind(self, channel: str, ts: str, closes_at: datetime, tz: str) -> None: ...
