"""Work a listener hands on once it has acknowledged.

Slack gets its answer when a listener returns (bot/slack_app.py), so anything slower than the ack itself
(a database write that may queue, a Slack API call) runs on the background pool. A failure there is
logged with what failed; it never turns an answered request into an error for Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

log = logging.getLogger(__name__)


def after_ack(background: Executor, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    background.submit(logged, work, *args, **kwargs)


def logged(work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run `work` now, logging a failure. For work that cannot wait its turn on the pool: opening a modal,
    whose trigger id expires 3 s after the click (Slack gets its answer a Slack call later, well within)."""
    try:
        work(*args, **kwargs)
    except Exception:
        log.exception("work after an acknowledged request failed: %s", getattr(work, "__qualname__", work))
