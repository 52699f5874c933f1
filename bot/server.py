"""`tandem serve`: the WSGI app under gunicorn's threaded workers, started from code.

Gunicorn gives what bolt's development server does not: many concurrent requests (threads in each
of several worker processes) and a graceful stop on SIGTERM that lets in-flight requests finish.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from bot.http_app import create_http_app
from bot.logging_setup import configure_logging
from bot.settings import Settings
from bot.slack_app import build_bolt_app
from bot.slack_client import make_web_client
from storage.db import make_engine, make_session_factory

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 30


def build_wsgi_app(settings: Settings) -> Flask:
    """Everything one worker process needs, built after the fork so no connection is shared."""
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    client = make_web_client(settings)
    bolt_app = build_bolt_app(settings, client, factory, clock=lambda: datetime.now(UTC))
    return create_http_app(
        signing_secret=settings.slack_signing_secret,
        bolt_app=bolt_app,
        factory=factory,
        engine=engine,
        clock=time.time,
    )


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
        }.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # In the worker, after the fork: the log writer thread must be started here.
        configure_logging(self.settings.log_level, self.settings.log_format)
        return build_wsgi_app(self.settings)


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
