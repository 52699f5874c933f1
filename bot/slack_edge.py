"""POST /slack/events: verify, parse, then queue an Events API callback or hand the request to bolt."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import BoltRequest

from bot.event_inbox import EventInbox
from bot.slack_app import SlackApp
from bot.slack_requests import parse_body, verify_signature
from bot.wsgi import EMPTY_OK, Answer, Environ, RejectedRequest, error, read_body, status_line


class SlackEdge:
    def __init__(self, signing_secret: str, slack: SlackApp, inbox: EventInbox, clock: Callable[[], float]) -> None:
        self._secret = signing_secret
        self._slack = slack
        self._inbox = inbox
        self._clock = clock

    def answer(self, environ: Environ, request_id: str) -> Answer:
        try:
            body = read_body(environ)
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
            return EMPTY_OK
        headers = [(name, value) for name, values in response.headers.items() for value in values]
        return status_line(response.status), headers, response.body.encode("utf-8")

    def _queue_event(self, event_id: str, payload: dict[str, Any], request_id: str) -> Answer:
        """An Events API callback is answered once it is queued; it is claimed and run after (bot/event_inbox.py).

        Slack wants only a 200 within 3 s: neither the database nor a listener's Slack calls hold it up.
        """
        if not self._inbox.put(event_id, partial(self._slack.events.run, payload, request_id)):
            # Slack keeps the event and sends it again: nothing is lost while this process catches up.
            return error(503, "too many Slack events waiting to be handled: try again shortly")
        return EMPTY_OK


def _signature_headers(environ: Environ) -> dict[str, str]:
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
