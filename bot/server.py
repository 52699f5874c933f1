"""`tandem serve`: the WSGI app under gunicorn's threaded workers, started from code.

Gunicorn gives what bolt's development server does not: many concurrent requests (threads in each
of several worker processes) and a graceful stop on SIGTERM that lets in-flight requests finish.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from bot.http_app import WsgiApp
from bot.logging_setup import configure_logging
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.worker_cores import WorkerCores

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 30
# Allocations (less deallocations) between the collector's youngest passes; Python's default is 700.
# Webhooks wait in memory for the storer a few hundred milliseconds, long enough to outlive two young
# passes at 700 and be promoted, so the older passes (a full one stops every thread for 25-30 ms) came
# round again and again to find them gone. Under bench_ingest's load the collector took 4.6-4.9 us of CPU
# a webhook at 700 and 0.3 us at 7,000 (timed by gc.callbacks in the workers, 10 s of load each).
GC_YOUNG_THRESHOLD = 7_000


class _GunicornLogger(glogging.Logger):
    """Send gunicorn's own messages through Tandem's log format instead of gunicorn's handlers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.handlers.clear()
        self.error_log.propagate = True


class TandemServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        cores = WorkerCores(settings.pin_workers)
        for key, value in {
            "bind": f"{settings.host}:{settings.port}",
            "worker_class": "gthread",
            "workers": settings.workers,
            "threads": settings.threads,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "timeout": 60,
            "keepalive": 5,
            "accesslog": None,
            "loglevel": settings.log_level.lower(),
            "logger_class": _GunicornLogger,
            "proc_name": "tandem",
            # gunicorn's runtime control socket lives in $HOME and would be shared by every instance.
            "control_socket_disable": True,
            "pre_fork": cores.pre_fork,
            "post_fork": cores.post_fork,
        }.items():
            self.cfg.set(key, value)

    def load(self) -> WsgiApp:
        """Runs in each worker after the fork, so no connection or thread is shared with the master."""
        configure_logging(self.settings.log_level, self.settings.log_format)
        runtime = build_runtime(self.settings)
        tune_collector()
        if runtime.leader is not None:
            runtime.leader.start()
        self.cfg.set("worker_exit", lambda _server, _worker: runtime.stop())
        return runtime.http_app


def tune_collector() -> None:
    """Once a worker has started: what start-up made (modules, bolt, SQLAlchemy's metadata, pandas) lives as
    long as the worker, so it is kept out of the collector's full passes, which otherwise stop every thread
    for 100+ ms at a time under load (bench_http p99 131-190 ms, 31-36 ms frozen); and the young passes
    come less often (GC_YOUNG_THRESHOLD says why)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve(settings: Settings) -> None:
    log.info(
        "serving on http://%s:%s with %d workers x %d threads, database %s",
        settings.host,
        settings.port,
        settings.workers,
        settings.threads,
        settings.database_url_for_display,
    )
    TandemServer(settings).run()
