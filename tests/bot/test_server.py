"""bot/server.py's own settings for a worker, each checked in a fresh interpreter (they are process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.server import GC_YOUNG_THRESHOLD


def test_a_started_worker_freezes_what_start_up_made_and_collects_young_objects_less_often() -> None:
    script = (
        "import gc, json; from bot.server import tune_collector; before = gc.get_threshold(); tune_collector(); "
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after, frozen = json.loads(output)
    assert after == [GC_YOUNG_THRESHOLD, before[1], before[2]]
    assert before[0] < GC_YOUNG_THRESHOLD
    assert frozen > 10_000  # the modules start-up imported, at least
