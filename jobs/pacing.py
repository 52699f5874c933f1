"""Shared pacing for concurrent sends: honour Slack's Retry-After for everyone and learn the allowed rate.

Without it, each sending thread would hit the limit on its own, sleep, and burst again together. Here
the first 429 pauses every thread until Retry-After has passed, and the rate that was being reached
just before it becomes the pace (a little under, to stay clear of the limit). The pace then creeps up
slowly, so a limit that was lifted is found again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

HEADROOM = 0.96  # pace at this share of the rate that drew the 429
PROBE_EVERY = 5.0  # seconds without a 429 before the pace rises …
PROBE_STEP = 0.02  # … by this share


class SendPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate: float | None = None  # sends per second; None until Slack first says "too fast"
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_raise = 0.0
        self._recent: deque[float] = deque()  # times of sends started in the last second

    @property
    def rate(self) -> float | None:
        return self._rate

    def wait_turn(self) -> None:
        """Block until this thread may send, then count the send."""
        with self._lock:
            now = self._clock()
            if self._rate is not None and now - self._last_raise >= PROBE_EVERY:
                self._rate *= 1 + PROBE_STEP
                self._last_raise = now
            slot = max(now, self._paused_until, self._next_slot)
            if self._rate is not None:
                self._next_slot = slot + 1 / self._rate
            self._recent.append(slot)
            while self._recent and self._recent[0] <= slot - 1.0:
                self._recent.popleft()
        if slot > now:
            self._sleep(slot - now)

    def rate_limited(self, retry_after: float) -> None:
        """Slack said 429: everyone waits out Retry-After, and the pace drops below what drew it."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:  # a send that was already in flight when a sibling got its 429
                return
            self._paused_until = max(self._paused_until, now + max(retry_after, 0.0))
            reached = sum(1 for at in self._recent if at > now - 1.0)
            estimate = max(1.0, reached * HEADROOM)
            self._rate = estimate if self._rate is None else max(1.0, min(self._rate * HEADROOM, estimate))
            self._last_raise = now
            self._recent.clear()
