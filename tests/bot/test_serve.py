"""`tandem serve` as a real process on a real port: gunicorn, the stand-in Slack API, signed requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from jobs.helpdesk.ingest import keep, prepare
from jobs.helpdesk.providers import PROVIDERS
from storage.db import make_engine, make_session_factory, transaction, write_connection
from storage.migrate import upgrade
from storage.models import HelpdeskEvent, WebhookDelivery
from storage.webhook_journal import JournalRecord, WebhookJournal, journal_directory, segments
from storage.workspace import app_removed, mark_app_removed
from tests.cli_runner import start_tandem
from tests.live_server import request
from tests.slack_signing import SIGNING_SECRET, event_callback, fixture, json_request
from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(process: subprocess.Popen[str], port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if request(port, "GET", "/readyz", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("tandem serve did not become ready")


def start_serve(tmp_path: Path, standin: SlackStandin, **settings: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = start_tandem(
        "serve",
        cwd=tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TANDEM_SLACK_API_URL=standin.base_url,
        TANDEM_PORT=str(port),
        **settings,
    )
    return process, port


@pytest.fixture
def served(tmp_path: Path, standin: SlackStandin) -> Iterator[tuple[subprocess.Popen[str], int]]:
    standin.users = [make_user(i) for i in range(1, 6)]
    process, port = start_serve(tmp_path, standin, TANDEM_LOG_FORMAT="json", TANDEM_WORKERS="2")
    try:
        wait_until_ready(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_it_serves_signed_slack_requests_runs_the_scheduler_once_and_logs_a_json_line_per_request(
    served: tuple[subprocess.Popen[str], int], standin: SlackStandin
) -> None:
    process, port = served
    challenge = fixture("url_verification.json")
    body, headers = json_request(challenge)
    reply = request(port, "POST", "/slack/events", body, headers)
    assert (reply.status, json.loads(reply.body)) == (200, {"challenge": challenge["challenge"]})

    body, headers = json_request(event_callback({"type": "team_join", "user": make_user(5)}, "EvSERVE1"))
    assert request(port, "POST", "/slack/events", body, headers).status == 200
    assert request(port, "POST", "/slack/events", body, {**headers, "X-Slack-Retry-Num": "1"}).status == 200
    unsigned = request(port, "POST", "/slack/events", body, {"Content-Type": "application/json"})
    assert unsigned.status == 401

    standin.wait_for("users.list")
    time.sleep(1)  # let the second worker finish booting and lose the scheduler election

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("path") == "/slack/events"]
    # Sorted: each of the two workers writes its lines from a thread of its own, so they may interleave.
    assert sorted(r["status"] for r in requests) == [200, 200, 200, 401]
    assert all(isinstance(r["latency_ms"], float) and r["request_id"] for r in requests)
    duplicates = [line for line in lines if line["message"].startswith("duplicate event EvSERVE1")]
    assert len(duplicates) == 1, "Slack's retry was claimed once, whichever worker took it, and not run again"
    assert standin.calls_to("auth.test"), "the token was checked against the Slack API at start-up"
    leaders = [line for line in lines if line["message"].startswith("scheduler started")]
    assert len(leaders) == 1, "exactly one of the two workers runs the scheduler"
    assert len(standin.calls_to("users.list")) == 1, "the daily directory sync ran once, at start-up"
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr


def test_sigterm_lets_an_in_flight_request_finish(served: tuple[subprocess.Popen[str], int]) -> None:
    process, port = served
    body, headers = json_request(fixture("url_verification.json"))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body[:10]
        )
        time.sleep(1)  # the request is now being read by a worker thread
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        client.sendall(body[10:])
        reply = client.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 200"), reply
    process.communicate(timeout=40)
    assert process.returncode == 0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated SQLite file for `tandem serve` to find things in, and an engine on it."""
    url = f"sqlite:///{tmp_path / 'tandem.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def test_webhooks_a_killed_process_journaled_or_left_unstored_are_stored_by_the_next_one_and_sigterm_stores_its_own(
    tmp_path: Path, standin: SlackStandin, database: tuple[str, Engine]
) -> None:
    url, engine = database
    solved = {"type": "solved", "ticket_id": "T-1", "occurred_at": "2026-11-23T15:00:00Z"}
    left = prepare(
        PROVIDERS["generic"],
        json.dumps({**solved, "event_id": "evt-left"}).encode(),
        {},
        datetime.now(UTC) - timedelta(minutes=5),
    )
    with write_connection(engine) as connection:  # kept and answered, then the process was killed
        keep(connection, [left])
    journal = WebhookJournal(journal_directory(str(engine.url.database)))
    body = json.dumps({**solved, "event_id": "evt-journaled", "ticket_id": "T-0"}).encode()
    journal.append(JournalRecord("generic", datetime.now(UTC), "{}", body))
    journal.close()  # journaled and answered, then the process was killed before it wrote it in

    def statuses() -> dict[str, str]:
        with engine.connect() as connection:
            return dict(connection.execute(select(WebhookDelivery.delivery_key, WebhookDelivery.status)).all())

    process, port = start_serve(tmp_path, standin, TANDEM_DATABASE_URL=url, TANDEM_WEBHOOK_TOKEN="generic-token")
    try:
        wait_until_ready(process, port)
        finished = {"evt-left": "parsed", "evt-journaled": "parsed"}
        wait_until(lambda: statuses() == finished, 30, "the scheduler's first tick to finish both")
        body = json.dumps({**solved, "event_id": "evt-new", "ticket_id": "T-2"}).encode()
        headers = {"Content-Type": "application/json", "Authorization": "Bearer generic-token"}
        assert request(port, "POST", "/webhooks/generic", body, headers).status == 200
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert statuses() == {"evt-left": "parsed", "evt-journaled": "parsed", "evt-new": "parsed"}
    with engine.connect() as connection:
        assert sorted(connection.execute(select(HelpdeskEvent.ticket_id)).scalars()) == ["T-0", "T-1", "T-2"]
    assert segments(journal.directory) == []  # the stop wrote everything in: nothing left for a sweep


def test_a_removed_app_whose_token_works_again_at_start_up_resumes_its_scheduled_work(
    tmp_path: Path, standin: SlackStandin, database: tuple[str, Engine]
) -> None:
    url, engine = database
    with transaction(make_session_factory(engine)) as session:
        mark_app_removed(session, datetime.now(UTC), "app_uninstalled")
    process, port = start_serve(tmp_path, standin, TANDEM_DATABASE_URL=url)
    try:
        wait_until_ready(process, port)
        standin.wait_for("users.list")  # the first tick ran the directory sync
        with make_session_factory(engine)() as session:
            assert app_removed(session) is None
    finally:
        process.kill()
        process.communicate()


def workers_of(process: subprocess.Popen[str]) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def cores_of(pids: list[int]) -> list[set[int]]:
    return [os.sched_getaffinity(pid) for pid in pids]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two usable cores")
def test_each_worker_runs_on_a_core_of_its_own_and_one_started_after_a_worker_dies_takes_the_core_it_left(
    tmp_path: Path, standin: SlackStandin
) -> None:
    usable = sorted(os.sched_getaffinity(0))[:2]
    process, port = start_serve(tmp_path, standin, TANDEM_WORKERS="2", TANDEM_PIN_WORKERS="on")
    try:
        wait_until_ready(process, port)
        wait_until(lambda: len(workers_of(process)) == 2, what="both workers")
        first, second = workers_of(process)
        assert sorted(map(sorted, cores_of([first, second]))) == [[usable[0]], [usable[1]]]
        left = os.sched_getaffinity(first)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(set(workers_of(process)) - {second}) == 1, 30, "a worker in place of the dead one")
        [replacement] = set(workers_of(process)) - {second}
        assert os.sched_getaffinity(replacement) == left
        assert request(port, "GET", "/healthz").status == 200
    finally:
        process.kill()
        process.communicate()


def test_workers_are_left_to_the_kernel_when_pinning_is_off(tmp_path: Path, standin: SlackStandin) -> None:
    process, port = start_serve(tmp_path, standin, TANDEM_WORKERS="2", TANDEM_PIN_WORKERS="off")
    try:
        wait_until_ready(process, port)
        wait_until(lambda: len(workers_of(process)) == 2, what="both workers")
        assert cores_of(workers_of(process)) == [os.sched_getaffinity(0)] * 2
    finally:
        process.kill()
        process.communicate()
