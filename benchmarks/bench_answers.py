"""Concurrent pulse-answer clicks against `tandem serve`: acknowledgement latency and lost answers.

Seeds a team of N members, sends their pulse DMs with the real `tandem pulse send --now` (to the Slack
stand-in), starts `tandem serve`, warms it up with clicks that are refused (not a member), then:
  wave 1: every member clicks an answer to their first question, all at once (one connection each,
          released together by a barrier); the clock runs from connect to the HTTP response (the ack);
  wave 2: every member double-clicks two other values of the same question at once (2N requests).
After each wave it waits for the background work and checks the `answers` table (one row per delivery
and question, with a clicked value) and the chat.update calls. Targets (issue): p99 ack < 200 ms,
zero lost answers.

Run:  .venv/bin/python benchmarks/bench_answers.py [--clicks 100] [--database-url URL] [--no-double-click]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from jobs.members import member_from_slack  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.members import upsert_members  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Answer, Delivery, Member  # noqa: E402
from storage.teams import add_team_members, create_team  # noqa: E402
from tests.slack_signing import SIGNING_SECRET, fixture, interaction_request  # noqa: E402
from tests.slack_standin import BOT_TOKEN, TEAM_ID, SlackStandin, make_user  # noqa: E402

TANDEM = str(Path(sys.executable).with_name("tandem"))
Click = tuple[bytes, dict[str, str]]


def click(standin: SlackStandin, user: str, channel: str, ts: str, block_id: str, button: dict[str, Any]) -> Click:
    """A signed block_actions request shaped like ../shared/fixtures/slack/block_actions_message_button.bolt.json."""
    payload = fixture("block_actions_message_button.bolt.json")
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "tandem-test"}
    payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
    payload["channel"] = {"id": channel, "name": "directmessage"}
    payload["trigger_id"] = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
    payload["response_url"] = standin.base_url.replace("/api/", f"/actions/{TEAM_ID}/{uuid.uuid4().hex}")
    action = {k: button[k] for k in ("action_id", "text", "value", "type")}
    payload["actions"] = [{**action, "block_id": block_id, "action_ts": f"{time.time():.6f}"}]
    return interaction_request(payload)


def fire(port: int, clicks: list[Click], wave: str) -> list[tuple[float, str]]:
    """All clicks at once, one connection each; (ms from connect to response, status) per click."""
    barrier = threading.Barrier(len(clicks))
    results: list[tuple[float, str]] = [(0.0, "not sent")] * len(clicks)

    def send(i: int) -> None:
        body, headers = clicks[i]
        headers = {**headers, "X-Request-Id": f"{wave}-{i}"}
        barrier.wait()
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/slack/events", body, headers)
            response = connection.getresponse()
            response.read()
            status = str(response.status)
        except OSError as error:
            status = type(error).__name__
        finally:
            connection.close()
        results[i] = ((time.perf_counter() - started) * 1000, status)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def figures(latencies: list[float]) -> str:
    return "  ".join(
        f"{n} {pct(latencies, p):7.1f} ms" for n, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )


def wait_updates(standin: SlackStandin, count: int, since: float, timeout: float = 10.0) -> float | None:
    """Seconds from `since` to the count-th chat.update, or None if it did not come within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = standin.calls_to("chat.update")
        if len(calls) >= count:
            return calls[count - 1].at - since
        time.sleep(0.02)
    return None


def shown_value(blocks: list[dict[str, Any]], block_id: str) -> int | None:
    """The answer a DM's blocks show as chosen (the primary button) for a question."""
    for block in blocks:
        if block.get("block_id") == block_id:
            for element in block["elements"]:
                if element.get("style") == "primary" and element["action_id"].startswith("pulse_answer:"):
                    return int(element["action_id"].split(":")[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=100, help="members, each clicking once in wave 1")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file; PostgreSQL: a new schema")
    parser.add_argument("--double-click", action=argparse.BooleanOptionalAction, default=True, help="run wave 2")
    parser.add_argument("--warmup", type=int, default=16, help="refused clicks sent before measuring")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-answers-bench-"))
    url, schema = options.database_url or f"sqlite:///{work / 'tandem.db'}", ""
    if options.database_url:
        schema = f"bench_answers_{uuid.uuid4().hex[:8]}"
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with transaction(factory) as session:
        upsert_members(session, [member_from_slack(make_user(i)) for i in range(options.clicks)], now)  # type: ignore[misc]
        add_team_members(session, create_team(session, "Bench", now).id, list(session.scalars(select(Member.id))))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    standin = SlackStandin().start()
    env = {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "TANDEM_SLACK_API_URL": standin.base_url,
        "TANDEM_DATABASE_URL": url,
        "TANDEM_PORT": str(port),
        "TANDEM_SCHEDULER": "off",
        "TANDEM_LOG_FORMAT": "json",
        **{k: v for k, v in os.environ.items() if k in ("TANDEM_WORKERS", "TANDEM_THREADS")},
    }
    log_path, server = work / "serve.log", None
    try:
        sent = subprocess.run([TANDEM, "pulse", "send", "--team", "Bench", "--now"], cwd=work, env=env, text=True,
                              capture_output=True)  # fmt: skip
        if sent.returncode != 0:
            raise SystemExit(f"tandem pulse send failed: {sent.stderr}")
        blocks = {c.body["channel"]: c.body["blocks"] for c in standin.calls_to("chat.postMessage")}
        with factory() as session:
            rows = session.execute(
                select(Member.slack_user_id, Delivery.id, Delivery.channel_id, Delivery.message_ts).join(
                    Delivery, Delivery.member_id == Member.id
                )
            ).all()
        targets = []  # (user, delivery id, channel, ts, question block id, answer buttons)
        for user, delivery_id, channel, ts in sorted(rows):
            first = next(b for b in blocks[user] if b["type"] == "actions" and b["block_id"].startswith("a"))
            buttons = [e for e in first["elements"] if e["action_id"].startswith("pulse_answer:")]
            targets.append((user, delivery_id, channel, ts, first["block_id"], buttons))

        with log_path.open("wb") as log:
            server = subprocess.Popen([TANDEM, "serve"], cwd=work, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"tandem serve did not become ready:\n{log_path.read_text()[-3000:]}")
            try:
                probe_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe_connection.request("GET", "/readyz")
                if probe_connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        if options.warmup:
            _, _, channel, ts, block_id, buttons = targets[0]
            stranger = [click(standin, "U99999999", channel, ts, block_id, buttons[0]) for _ in range(options.warmup)]
            fire(port, stranger, "warm")
            standin.wait_for("chat.postEphemeral", options.warmup, timeout=10)

        waves: list[tuple[str, list[Click], dict[int, set[int]]]] = [("wave1", [], {})]
        for i, (user, delivery_id, channel, ts, block_id, buttons) in enumerate(targets):
            chosen = buttons[i % len(buttons)]
            waves[0][1].append(click(standin, user, channel, ts, block_id, chosen))
            waves[0][2][delivery_id] = {json.loads(chosen["value"])["v"]}
        if options.double_click:
            waves.append(("wave2", [], {}))
            for i, (user, delivery_id, channel, ts, block_id, buttons) in enumerate(targets):
                pair = [buttons[(i + k) % len(buttons)] for k in (1, 2)]
                waves[1][1].extend(click(standin, user, channel, ts, block_id, b) for b in pair)
                waves[1][2][delivery_id] = {json.loads(b["value"])["v"] for b in pair}

        print(f"command: {shlex.join([sys.executable, *sys.argv])}")
        print(
            f"machine: {os.cpu_count()} cores; database: {engine.dialect.name}; members/deliveries: {len(targets)}; "
            f"server: TANDEM_WORKERS={env.get('TANDEM_WORKERS', 'default')} TANDEM_THREADS="
            f"{env.get('TANDEM_THREADS', 'default')}; warm-up clicks: {options.warmup}"
        )
        question_of = {t[1]: int(t[4][1:]) for t in targets}
        verdicts, updates_expected = [], 0
        for wave, clicks, expected in waves:
            ephemeral_before = len(standin.calls_to("chat.postEphemeral"))
            started = time.monotonic()
            results = fire(port, clicks, wave)
            latencies = [ms for ms, _ in results]
            statuses: dict[str, int] = {}
            for _, status in results:
                statuses[status] = statuses.get(status, 0) + 1
            updates_expected += len(clicks)
            processed = wait_updates(standin, updates_expected, started)
            with factory() as session:
                stored = session.execute(
                    select(Answer.delivery_id, Answer.question_id, Answer.value).where(Answer.delivery_id.is_not(None))
                ).all()
            by_delivery: dict[int, list[tuple[int, int | None]]] = {}
            for delivery_id, question_id, value in stored:
                by_delivery.setdefault(delivery_id, []).append((question_id, value))
            lost = [d for d, values in expected.items() if by_delivery.get(d, [(0, None)])[0][1] not in values]
            wrong = [d for d, rows in by_delivery.items() if len(rows) != 1 or rows[0][0] != question_of[d]]
            updates = standin.calls_to("chat.update")
            last_shown = {c.body["channel"]: c.body["blocks"] for c in updates}
            stale = [
                t[1]
                for t in targets
                if shown_value(last_shown.get(t[2], []), t[4])
                != dict(by_delivery.get(t[1], [(0, None)]))[question_of[t[1]]]
            ]
            print(
                f"{wave}: {len(clicks)} concurrent clicks  ack latency  {figures(latencies)}  HTTP statuses {statuses}"
            )
            server_ms = []
            for line in log_path.read_text().splitlines():
                if line.startswith("{") and f'"request_id": "{wave}-' in line:
                    server_ms.append(float(json.loads(line)["latency_ms"]))
            print(f"{wave}: server-side (request log, {len(server_ms)} lines)   {figures(server_ms)}")
            done = f"{processed:.2f} s after the wave started" if processed is not None else "NOT within 10 s"
            print(
                f"{wave}: answers rows with a delivery: {len(stored)} (expected {len(expected)}); lost or wrong value: "
                f"{len(lost)}; deliveries with extra/odd rows: {len(wrong)}; chat.update calls: {len(updates)} "
                f"(expected {updates_expected}), all processed {done}; ephemeral refusals: "
                f"{len(standin.calls_to('chat.postEphemeral')) - ephemeral_before}; DMs last shown with another "
                f"value than stored: {len(stale)}"
            )
            p99_ok = pct(latencies, 99) < 200 and statuses == {"200": len(clicks)}
            zero_lost = not lost and not wrong and len(stored) == len(expected) and len(updates) == updates_expected
            verdicts.append((wave, p99_ok, zero_lost))
        problems = [
            line for line in log_path.read_text().splitlines() if '"level": "ERROR"' in line or "Traceback" in line
        ]
        print(f"server log: {len(problems)} error lines" + "".join(f"\n  {p[:400]}" for p in problems[:5]))
        for wave, p99_ok, zero_lost in verdicts:
            print(f"{wave} target p99 ack < 200 ms (all 200): {'MET' if p99_ok else 'NOT MET'};  "
                  f"zero lost answers: {'MET' if zero_lost else 'NOT MET'}")  # fmt: skip
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(60)
        standin.stop()
        engine.dispose()
        if schema:
            with create_engine(options.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
