"""Each `tandem serve` worker process on a core of its own (TANDEM_PIN_WORKERS).

Why: a worker is one Python process whose threads (gunicorn's request threads and poller, the webhook
storer, the log writer) take turns holding the GIL, handing it over several times a request. Left to the
kernel, those threads run on either core, so a hand-over crosses cores: the GIL's state and the objects the
threads share move between caches, and the thread woken to take the GIL waits for the other core to run it.
Pinned, a worker's hand-overs stay on one core. On this 2-core machine, 2 workers of 8 threads, 4 runs
alternating with the same code unpinned (docs/ingest-performance.md, session 22):
- bench_ingest: 4,429-4,992 webhooks answered a second against 3,860-4,186, 0.44-0.46 ms of CPU each
  against 0.48-0.50 ms; its ratio to the bare endpoint (pinned the same way) 0.46-0.49 against 0.40-0.43;
- bench_http (Slack's route, one pair): 6,917 a second against 5,530, p99 35 ms against 28 ms.
The bare endpoint gains nothing measurable: its requests hold the GIL for a few microseconds.

What it costs: a pinned worker cannot spread its GIL-free work (SQLite, system calls) onto an idle core,
and a core shared with something busy holds it back: under bench_ingest's saturating load the webhooks'
p99 was 44-186 ms a round against 30-54 ms. So "auto" pins only when the workers fill the usable cores
evenly (as many on each); "on" pins them round the cores whatever their number; "off" leaves them to the
kernel.

The master picks each worker's core before the fork, from the cores its live workers hold, so a worker
started to replace one that died takes the core it left; the worker pins itself just after the fork.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable
from typing import Any

log = logging.getLogger(__name__)

CORE = "tandem_core"  # the attribute a gunicorn worker object carries its core in


def core_for_worker(mode: str, workers: int, usable: Collection[int], taken: Iterable[int | None]) -> int | None:
    """The core a new worker is pinned to, or None to leave it to the kernel. `workers`: how many the server
    runs; `usable`: the cores this process may run on; `taken`: the cores of its live workers (None: not pinned)."""
    if mode == "off" or len(usable) < 2 or (mode == "auto" and workers % len(usable)):
        return None
    load = dict.fromkeys(sorted(usable), 0)
    for core in taken:
        if core in load:
            load[core] += 1
    return min(load, key=load.__getitem__)  # the lowest-numbered of the least loaded


class WorkerCores:
    """Gunicorn's `pre_fork` (in the master) and `post_fork` (in the new worker) hooks."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def pre_fork(self, arbiter: Any, worker: Any) -> None:
        if not hasattr(os, "sched_setaffinity"):  # Linux only
            return
        taken = [getattr(sibling, CORE, None) for sibling in arbiter.WORKERS.values()]
        setattr(worker, CORE, core_for_worker(self.mode, arbiter.num_workers, os.sched_getaffinity(0), taken))

    def post_fork(self, _arbiter: Any, worker: Any) -> None:
        core = getattr(worker, CORE, None)
        if core is None:
            return
        try:
            os.sched_setaffinity(0, {core})  # this thread, before the worker starts any other: all inherit it
        except OSError as error:  # a container may forbid it: the worker runs unpinned
            log.warning("could not pin worker %d to core %d (%s): it runs on any core", os.getpid(), core, error)
