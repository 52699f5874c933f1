"""POST /slack/events as a plain WSGI app: verify, parse, then queue an event or hand a request to bolt.

Plain WSGI rather than a Flask route because this is the hottest path Tandem has: every Slack event,
click and command. Flask's request context, URL matching and response object cost about as much CPU as
everything this route does itself (bench_http). The other routes, a few requests a second, stay in
Flask (bot/http_app.py); both answer errors the same way: one line of JSON, `{"error": reason}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import partial
from http import HTTPStatus
from typing import Any

from slack_bolt import BoltRequest

from bot.event_inbox import EventInbox
from bot.slack_app import SlackApp
from bot.slack_requests import RejectedRequest, parse_body, verify_signature

log = logging.getLogger("tandem.http")

StartResponse = Callable[..., Any]

# Slack's and the helpdesks' payloads are far smaller; anything bigger is refused (413) before it is read.
MAX_BODY_BYTES = 1024 * 1024
PATH = "/slack/events"


class SlackEdge:
    def __init__(self, signing_secret: str, slack: SlackApp, inbox: EventInbox, clock: Callable[[], float]) -> None:
        self._secret = signing_secret
        self._slack = slack
        self._inbox = inbox
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = environ.get("tandem.request_id", "-")
        try:
            status, headers, body = self._answer(environ, request_id)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            status, headers, body = error(500, f"internal error (request id {request_id})")
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _answer(self, environ: dict[str, Any], request_id: str) -> Answer:
        if environ.get("REQUEST_METHOD") != "POST":
            status, headers, body = error(405, "method not allowed")
            return status, [*headers, ("Allow", "POST")], body
        try:
            body = _read_body(environ)
            verify_signature(self._secret, _signature_headers(environ), body, self._clock())
            payload = parse_body(body, environ.get("CONTENT_TYPE") or "")
        except RejectedRequest as rejected:
            return error(rejected.status, rejected.reason)
        event_id = payload.get("event_id")
        if payload.get("type") == "event_callback" and isinstance(event_id, str):
            return self._queue_event(event_id, payload, request_id)
        # Interactions, commands and the URL check: the listener's ack() is the answer (a modal's errors,
        # a command's reply), so bolt runs the listener before Slack is answered.
        media_type = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
        bolt_request = BoltRequest(
            body=_as_json(body, payload, media_type),
            query=environ.get("QUERY_STRING", ""),
            headers={"Content-Type": "application/json"},
            context={"request_id": request_id},
        )
        response = self._slack.bolt.dispatch(bolt_request)
        if response.status == 404:
            # No listener wants it (an action from an old message, say): acknowledge, do nothing.
            return "200 OK", [], b""
        headers = [(name, value) for name, values in response.headers.items() for value in values]
        return _status_line(response.status), headers, response.body.encode("utf-8")

    def _queue_event(self, event_id: str, payload: dict[str, Any], request_id: str) -> Answer:
        """An Events API callback is answered once it is queued; it is claimed and run after (bot/event_inbox.py).

        Slack wants only a 200 within 3 s: neither the database nor a listener's Slack calls hold it up.
        """
        if not self._inbox.put(event_id, partial(self._slack.events.run, payload, request_id)):
            # Slack keeps the event and sends it again: nothing is lost while this process catches up.
            return error(503, "too many Slack events waiting to be handled: try again shortly")
        return "200 OK", [], b""


Answer = tuple[str, list[tuple[str, str]], bytes]


def error(status: int, reason: str) -> Answer:
    """A refusal as one line of JSON, whatever the reason quotes from the payload it refuses."""
    body = json.dumps({"error": " ".join(reason.split())[:500]}).encode() + b"\n"
    return _status_line(status), [("Content-Type", "application/json")], body


def _read_body(environ: dict[str, Any]) -> bytes:
    declared = environ.get("CONTENT_LENGTH")
    try:
        length = int(declared) if declared else MAX_BODY_BYTES + 1  # chunked: read up to one byte too many
    except ValueError:
        raise RejectedRequest(400, "Content-Length is not a number") from None
    if length > MAX_BODY_BYTES and declared:
        raise RejectedRequest(413, f"body is larger than {MAX_BODY_BYTES} bytes")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    if len(body) > MAX_BODY_BYTES:
        raise RejectedRequest(413, f"body is larger than {MAX_BODY_BYTES} bytes")
    return body


def _signature_headers(environ: dict[str, Any]) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
        "X-Slack-Signature": environ.get("HTTP_X_SLACK_SIGNATURE", ""),
    }


def _as_json(body: bytes, payload: dict[str, Any], media_type: str) -> str:
    """The payload for bolt, which parses what it is given again: as JSON, whatever shape Slack sent.

    A click or a command comes URL-encoded, and URL decoding is pure Python: about 100 µs for a small
    click and several times that for a DM full of buttons. Parsing JSON again takes a few µs.
    """
    return body.decode("utf-8") if media_type == "application/json" else json.dumps(payload)


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"
