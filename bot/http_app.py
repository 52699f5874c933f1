"""The HTTP edge: one WSGI app for Slack (bot/slack_edge.py), helpdesk webhooks (bot/webhook_edge.py) and
health checks, with a request id and one log line per request.

Routes only translate: verify, parse, store or queue, hand over. Every error is a one-line JSON reason
(bot/wsgi.py), a failure inside a route included: a 500 with the request id, never a stack trace.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.event_inbox import EventInbox
from bot.logging_setup import REQUEST_LOGGER, log_request
from bot.slack_app import SlackApp
from bot.slack_edge import SlackEdge
from bot.webhook_edge import WebhookEdge
from bot.wsgi import Answer, Environ, OneSegment, StartResponse, error, json_answer
from jobs.helpdesk.ingest_queue import WebhookIngest
from storage.db import SessionFactory, database_is_reachable

log = logging.getLogger(REQUEST_LOGGER)

WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_WEBHOOK_PATH = re.compile(r"^/webhooks/([^/]+)$")


def create_http_app(
    *,
    signing_secret: str,
    slack: SlackApp,
    factory: SessionFactory,
    engine: Engine,
    clock: Callable[[], float] = time.time,
    helpdesk_secrets: Mapping[str, str] | None = None,
    inbox: EventInbox | None = None,
    webhook_ingest: WebhookIngest | None = None,
) -> WsgiApp:
    """`helpdesk_secrets`: provider name -> its signing secret or token; a provider without one refuses (401).
    `inbox`: where answered Events API callbacks wait for their listeners; `webhook_ingest`: what keeps
    helpdesk deliveries and stores their events (default: one of this app's own, each).
    """
    inbox = inbox or EventInbox(engine, lambda: datetime.fromtimestamp(clock(), UTC))
    slack_edge = SlackEdge(signing_secret, slack, inbox, clock)
    webhooks = WebhookEdge(webhook_ingest or WebhookIngest(factory), helpdesk_secrets or {}, clock)

    def route(environ: Environ, request_id: str) -> Answer:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/slack/events":
            return slack_edge.answer(environ, request_id) if method == "POST" else _not_allowed("POST")
        if webhook := _WEBHOOK_PATH.match(path):
            return webhooks.answer(environ, webhook.group(1)) if method == "POST" else _not_allowed("POST")
        if path == "/healthz":
            return json_answer(200, status="ok") if method in ("GET", "HEAD") else _not_allowed("GET")
        if path == "/readyz":
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            if database_is_reachable(engine):
                return json_answer(200, status="ok", database="ok")
            return json_answer(503, status="unavailable", database="unreachable")
        return error(404, "not found")

    return RequestLog(route)


def new_request_id() -> str:
    """16 hex digits to find a request's log lines by; not a secret. Not uuid4: os.urandom gives up the GIL,
    and on a busy server a thread that gives it up queues to get it back."""
    return f"{random.getrandbits(64):016x}"


def _not_allowed(allowed: str) -> Answer:
    status, headers, body = error(405, "method not allowed")
    return status, [*headers, ("Allow", allowed)], body


class RequestLog:
    """The WSGI app: give each request an id, answer it by `route`, and log one line with its latency."""

    def __init__(self, route: Callable[[Environ, str], Answer]) -> None:
        self.route = route

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        try:
            status, headers, body = self.route(environ, request_id)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            status, headers, body = error(500, f"internal error (request id {request_id})")
        start_response(status, [*headers, ("Content-Length", str(len(body))), ("X-Request-Id", request_id)])
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        code, method, path = int(status[:3]), environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        log_request(request_id, method, path, code, latency_ms)
        return OneSegment(environ, [body] if method != "HEAD" else [])
