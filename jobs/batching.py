"""How a background writer lets a batch gather before it writes: one transaction for a few items costs
nearly what one for hundreds does (the webhook events storer, the Slack event claimer)."""

from __future__ import annotations

import time
from collections.abc import Sized


def gather(queued: Sized, linger: float, step: float, full: int) -> None:
    """Sleep a `step` at a time while `queued` keeps growing, until it holds `full` or `linger` has passed.

    A lone item waits one step; under load a batch holds about `linger`'s worth. The length is read
    without a lock: it is only a hint of whether more are coming.
    """
    deadline = time.monotonic() + linger
    seen = len(queued)
    while True:
        time.sleep(min(step, linger))
        now_queued = len(queued)
        if now_queued == seen or now_queued >= full or time.monotonic() >= deadline:
            return
        seen = now_queued
