"""POST /slack/events over a real socket, signed exactly as Slack signs, with a real database behind it."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.event_inbox import EventInbox
from bot.http_app import create_http_app
from bot.listeners.events import EventContext
from bot.settings import Secret, Settings
from bot.slack_app import SlackApp, build_slack_app
from bot.slack_client import make_web_client
from jobs.question_bank import load_default_bank
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Member, ProcessedSlackEvent
from tests.live_server import LiveServer, Reply
from tests.slack_signing import (
    SIGNING_SECRET,
    event_callback,
    fixture,
    form_request,
    interaction_request,
    json_request,
    slack_headers,
)
from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user
from tests.waiting import wait_until

# An event type Tandem does not handle, given a handler by these tests to watch events run.
TEST_EVENT = "tandem_test_event"


class Harness:
    def __init__(self, server: LiveServer, engine: Engine, slack: SlackApp, inbox: EventInbox) -> None:
        self.server, self.engine, self.slack, self.inbox = server, engine, slack, inbox
        self.dispatched: list[dict[str, Any]] = []  # what reached bolt
        self.ran: list[str] = []  # test events run, by their "id"
        self.on_test_event: Callable[[dict[str, Any], EventContext], None] = lambda event, _: self.ran.append(
            event["id"]
        )
        slack.events.on(TEST_EVENT, lambda event, context: self.on_test_event(event, context))

    def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        return self.server.request("POST", "/slack/events", body, headers)

    def count(self, model: type) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def harness(database_url: str, standin: SlackStandin) -> Iterator[Harness]:
    engine = make_engine(database_url)
    upgrade(engine)
    settings = Settings(
        slack_bot_token=Secret(BOT_TOKEN), slack_signing_secret=Secret(SIGNING_SECRET), slack_api_url=standin.base_url
    )
    factory = make_session_factory(engine)
    slack = build_slack_app(
        settings, make_web_client(settings), factory, clock=lambda: datetime.now(UTC), bank=load_default_bank()
    )
    inbox = EventInbox(engine, lambda: datetime.now(UTC))
    http = create_http_app(signing_secret=SIGNING_SECRET, slack=slack, factory=factory, engine=engine, inbox=inbox)
    with LiveServer(http) as server:
        harness = Harness(server, engine, slack, inbox)

        def record_dispatch(body: dict[str, Any], next: Callable[[], Any]) -> Any:
            harness.dispatched.append(body)
            return next()

        def boom(ack: Callable[..., None]) -> None:
            raise RuntimeError("listener exploded with secret detail")

        slack.bolt.use(record_dispatch)
        slack.bolt.command("/boom")(boom)
        yield harness
    inbox.drain()
    engine.dispose()


def test_it_answers_slacks_url_verification_challenge(harness: Harness) -> None:
    challenge = fixture("url_verification.json")
    reply = harness.post(*json_request(challenge))
    assert reply.status == 200
    assert json.loads(reply.body) == {"challenge": challenge["challenge"]}


@pytest.mark.parametrize("tamper", ["unsigned", "wrong secret", "stale", "future", "altered"])
def test_it_refuses_requests_that_slack_did_not_sign_and_stores_nothing(harness: Harness, tamper: str) -> None:
    body, headers = json_request(event_callback({"type": "user_change", "user": make_user(1)}, "EvTAMPER"))
    if tamper == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif tamper == "wrong secret":
        headers = slack_headers(body, "application/json", secret="0" * 32)
    elif tamper in ("stale", "future"):
        shift = -301 if tamper == "stale" else 301
        headers = slack_headers(body, "application/json", ts=int(time.time()) + shift)
    else:
        body = body.replace(b"U00000001", b"U00000666")
    reply = harness.post(body, headers)
    assert reply.status == 401
    assert list(json.loads(reply.body)) == ["error"]
    time.sleep(0.1)
    assert harness.count(ProcessedSlackEvent) == 0
    assert harness.count(Member) == 0
    assert harness.inbox.held == 0 and harness.dispatched == []


def test_it_answers_a_signed_but_malformed_body_with_a_one_line_400(harness: Harness) -> None:
    body = b'{"type": "event_callback", "event": '
    reply = harness.post(body, slack_headers(body, "application/json"))
    assert reply.status == 400
    assert json.loads(reply.body) == {"error": "body is not valid JSON"}
    assert harness.dispatched == []


def test_it_stores_a_new_member_from_a_team_join_event_after_acknowledging(harness: Harness) -> None:
    reply = harness.post(*json_request(event_callback({"type": "team_join", "user": make_user(7)}, "EvJOIN")))
    assert reply.status == 200
    wait_until(lambda: harness.count(Member) == 1)


def test_a_slack_retry_of_the_same_event_is_handled_once(harness: Harness) -> None:
    envelope = event_callback({"type": TEST_EVENT, "id": "first"}, "EvRETRY01")
    first = harness.post(*json_request(envelope))
    body, headers = json_request(envelope)
    retries = [
        harness.post(body, {**headers, "X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"})
        for n in (1, 2, 3)
    ]
    assert first.status == 200
    assert [r.status for r in retries] == [200, 200, 200]
    wait_until(lambda: harness.inbox.held == 0)
    assert harness.ran == ["first"]
    assert harness.count(ProcessedSlackEvent) == 1


def test_an_events_listeners_run_only_after_slack_has_its_answer(harness: Harness) -> None:
    answered = threading.Event()
    answer_was_in: list[bool] = []

    def wait_for_the_answer(event: dict[str, Any], context: EventContext) -> None:
        # Were listeners run before the answer, the answer would wait here, and this wait would time out.
        answer_was_in.append(answered.wait(timeout=3))

    harness.on_test_event = wait_for_the_answer
    reply = harness.post(*json_request(event_callback({"type": TEST_EVENT, "id": "slow"}, "EvFIRST")))
    answered.set()
    assert reply.status == 200
    wait_until(lambda: harness.inbox.held == 0)
    assert answer_was_in == [True]


def test_an_event_that_fails_after_the_answer_is_logged_with_the_request_id(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(event: dict[str, Any], context: EventContext) -> None:
        raise RuntimeError("listener exploded with secret detail")

    harness.on_test_event = explode
    with caplog.at_level(logging.ERROR):
        reply = harness.post(*json_request(event_callback({"type": TEST_EVENT, "id": "boom"}, "EvBOOM")))
        wait_until(lambda: any(r.getMessage().startswith("listener failed") for r in caplog.records))
        wait_until(lambda: harness.inbox.held == 0)
    assert reply.status == 200
    failures = [r for r in caplog.records if r.getMessage().startswith("listener failed")]
    assert [getattr(r, "request_id", None) for r in failures] == [reply.headers["x-request-id"]]
    assert harness.count(ProcessedSlackEvent) == 1


def test_it_acknowledges_and_ignores_event_types_it_does_not_use(harness: Harness) -> None:
    event = {"type": "reaction_added", "user": "U1", "reaction": "tada", "event_ts": "1.2"}
    reply = harness.post(*json_request(event_callback(event, "EvUNKNOWN")))
    assert reply.status == 200
    wait_until(lambda: harness.count(ProcessedSlackEvent) == 1)


def test_it_acknowledges_an_interaction_no_listener_wants(harness: Harness) -> None:
    reply = harness.post(*interaction_request(fixture("block_actions_message_button.bolt.json")))
    assert reply.status == 200
    assert harness.dispatched[0]["type"] == "block_actions"


def test_a_failing_listener_is_logged_with_the_request_id_and_never_shows_a_stack_trace(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    fields = {**fixture("slash_command.bolt.fields.json"), "command": "/boom", "text": ""}
    with caplog.at_level(logging.ERROR):
        reply = harness.post(*form_request(fields))
    assert reply.status == 500
    assert b"Traceback" not in reply.body
    assert b"secret detail" not in reply.body
    request_id = reply.headers["x-request-id"]
    failures = [r for r in caplog.records if r.getMessage().startswith("listener failed")]
    assert [getattr(r, "request_id", None) for r in failures] == [request_id]


def test_it_refuses_a_body_over_one_megabyte_with_413(harness: Harness) -> None:
    body = json.dumps({"type": "event_callback", "padding": "x" * (1024 * 1024)}).encode()
    reply = harness.post(body, slack_headers(body, "application/json"))
    assert reply.status == 413
    assert json.loads(reply.body) == {"error": "body is larger than 1048576 bytes"}


def test_health_and_readiness_answer(harness: Harness) -> None:
    assert harness.server.request("GET", "/healthz").status == 200
    ready = harness.server.request("GET", "/readyz")
    assert (ready.status, json.loads(ready.body)) == (200, {"status": "ok", "database": "ok"})


def test_readiness_fails_when_the_database_is_unreachable(tmp_path: Any, standin: SlackStandin) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing-dir/tandem.db")
    settings = Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url)
    factory = make_session_factory(engine)
    slack = build_slack_app(
        settings, make_web_client(settings), factory, clock=lambda: datetime.now(UTC), bank=load_default_bank()
    )
    http = create_http_app(signing_secret=SIGNING_SECRET, slack=slack, factory=factory, engine=engine)
    with LiveServer(http) as server:
        reply = server.request("GET", "/readyz")
    assert (reply.status, json.loads(reply.body)["database"]) == (503, "unreachable")


def test_unknown_paths_get_a_json_404(harness: Harness) -> None:
    reply = harness.server.request("POST", "/nowhere", b"{}", {"Content-Type": "application/json"})
    assert (reply.status, json.loads(reply.body)) == (404, {"error": "not found"})


def test_only_post_reaches_the_slack_endpoint(harness: Harness) -> None:
    reply = harness.server.request("GET", "/slack/events")
    assert (reply.status, json.loads(reply.body)) == (405, {"error": "method not allowed"})
    assert reply.headers["allow"] == "POST"
