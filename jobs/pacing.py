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

HEADROOM = 0.95  # pace at this share of the rate that drew the 429
# Seconds without a 429 before the pace rises by PROBE_STEP. Slow on purpose: each probe that finds the
# limit again costs a Retry-After pause, so probing every 30 s costs about 1% of the time.
PROBE_EVERY = 30.0
PROBE_STEP = 0.01
JITTER_STEP = 0.98


class SendPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate: float | None = None  # sends per second; None until Slack first says "too fast"
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_raise = 0.0
        self._recent: deque[float] = deque()  # times of sends Slack accepted, over the last second
        self._started: deque[float] = deque()  # times of sends started, over the last second

    @property
    def rate(self) -> float | None:
        return self._rate

    def wait_turn(self) -> None:
        """Block until this thread may send.

        Sends are spaced evenly at the pace; and, because a thread can wake late and bunch up with the
        next one, no more than the pace is ever started within one second (Slack counts the same way).
        """
        with self._lock:
            now = self._clock()
            if self._rate is not None and now - self._last_raise >= PROBE_EVERY:
                self._rate *= 1 + PROBE_STEP
                self._last_raise = now
            slot = max(now, self._paused_until, self._next_slot)
            if self._rate is not None:
                self._next_slot = slot + 1 / self._rate
        if slot > now:
            self._sleep(slot - now)
        while True:
            with self._lock:
                now = self._clock()
                while self._started and self._started[0] <= now - 1.0:
                    self._started.popleft()
                if self._rate is None or len(self._started) < int(self._rate):
                    self._started.append(now)
                    return
                wait = self._started[0] + 1.0 - now
            self._sleep(wait)

    def accepted(self) -> None:
        """A send went through: what got through in the last second is the best measure of the limit."""
        with self._lock:
            now = self._clock()
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()

    def rate_limited(self, retry_after: float) -> None:
        """Slack said 429: everyone waits out Retry-After, and the pace drops below what drew it."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:  # a send that was already in flight when a sibling got its 429
                return
            self._paused_until = max(self._paused_until, now + max(retry_after, 0.0))
            reached = sum(1 for at in self._recent if at > now - 1.0)  # accepted just before the 429
            estimate = max(1.0, reached * HEADROOM)
            if self._rate is None:
                self._rate = estimate
            else:
                # Already paced: the limit is close to the pace (timing jitter tipped a second over it).
                # Step down gently; a step to the estimate could collapse the pace when a pause has just
                # emptied the last second of accepted sends.
                self._rate = max(min(self._rate, estimate), self._rate * JITTER_STEP)
            self._last_raise = now
            self._recent.clear()
