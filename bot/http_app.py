"""The HTTP edge: one WSGI app for Slack (bot/slack_edge.py), helpdesk webhooks and health checks.

Routes only translate: verify, parse, store or queue, hand over. Every error is a one-line JSON reason.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from bot.event_inbox import EventInbox
from bot.slack_app import SlackApp
from bot.slack_edge import MAX_BODY_BYTES, SlackEdge
from bot.slack_edge import PATH as SLACK_PATH
from jobs.helpdesk.ingest import WebhookIngest
from jobs.helpdesk.providers import PROVIDERS
from storage.db import SessionFactory, database_is_reachable

log = logging.getLogger("tandem.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_http_app(
    *,
    signing_secret: str,
    slack: SlackApp,
    factory: SessionFactory,
    engine: Engine,
    clock: Callable[[], float] = time.time,
    helpdesk_secrets: Mapping[str, str] | None = None,
    inbox: EventInbox | None = None,
) -> Flask:
    """`helpdesk_secrets`: provider name -> its signing secret or token; a provider without one refuses (401).
    `inbox`: where answered Events API callbacks wait for their listeners (default: one of this app's own).
    """
    inbox = inbox or EventInbox(engine, lambda: datetime.fromtimestamp(clock(), UTC))
    http = Flask("tandem")
    # `/webhooks//generic` is a wrong URL: answer it 404 with a reason, not with a redirect and an HTML page.
    http.url_map.merge_slashes = False
    http.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    secrets = dict(helpdesk_secrets or {})
    webhooks = WebhookIngest(factory)

    @http.post("/webhooks/<name>")
    def helpdesk_webhook(name: str) -> Response:
        provider = PROVIDERS.get(name)
        if provider is None:
            return _error(404, f"no helpdesk called {name!r}: use one of {', '.join(sorted(PROVIDERS))}")
        secret = secrets.get(name)
        if not secret:
            return _error(401, f"{name} webhooks are off: set {provider.secret_env} to turn them on")
        body = request.get_data(cache=False)
        headers = {key.lower(): value for key, value in request.headers.items()}
        if not provider.verify(body, headers, secret, clock()):
            return _error(401, f"the {name} signature or token does not match")
        result = webhooks.ingest(provider, body, headers, datetime.fromtimestamp(clock(), UTC))
        if result.problem:
            log.info("kept an unreadable %s webhook for replay: %s", name, result.problem)
            return _error(400, f"{result.problem} (kept; `tandem webhooks replay` reads it again after a fix)")
        return _json_answer(ok=True, duplicate=result.duplicate, events=result.events, ignored=result.ignored or None)

    @http.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @http.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        if database_is_reachable(engine):
            return jsonify(status="ok", database="ok")
        return jsonify(status="unavailable", database="unreachable"), 503

    @http.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        reason = {413: f"body is larger than {MAX_BODY_BYTES} bytes"}.get(error.code or 500)
        return _error(error.code or 500, reason or (error.name or "error").lower())

    @http.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return _error(500, f"internal error (request id {g.get('request_id')})")

    @http.before_request
    def assign_request_id() -> None:
        g.request_id = request.environ.get("tandem.request_id") or new_request_id()

    edge = SlackEdge(signing_secret, slack, inbox, clock)
    flask_app = http.wsgi_app

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return (edge if environ.get("PATH_INFO") == SLACK_PATH else flask_app)(environ, start_response)

    http.wsgi_app = RequestLog(route)  # type: ignore[method-assign]
    return http


def new_request_id() -> str:
    """16 hex digits to find a request's log lines by; not a secret. Not uuid4: os.urandom gives up the GIL,
    and on a busy server a thread that gives it up queues to get it back."""
    return f"{random.getrandbits(64):016x}"


def _json_answer(**fields: Any) -> Response:
    """What jsonify answers (compact, keys sorted, a final newline) without its lookups on the app: a busy
    helpdesk sends thousands of webhooks a second, and each answer's cost is paid under the GIL."""
    return Response(json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n", mimetype="application/json")


def _error(status: int, reason: str) -> Response:
    # One line, whatever a reason quotes from the payload it refuses.
    response = jsonify(error=" ".join(reason.split())[:500])
    response.status_code = status
    return response


class RequestLog:
    """WSGI middleware: give each request an id and log one line with its latency when it is done."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        environ["tandem.request_id"] = request_id
        status_holder: list[str] = []

        def recording_start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status_holder.append(status)
            headers.append(("X-Request-Id", request_id))
            return start_response(status, headers, *args)

        try:
            return self.app(environ, recording_start_response)
        finally:
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            status = int(status_holder[0].split()[0]) if status_holder else 500
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            log.info(
                "%s %s %s %.2fms",
                method,
                path,
                status,
                latency_ms,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status": status,
                    "latency_ms": latency_ms,
                },
            )
