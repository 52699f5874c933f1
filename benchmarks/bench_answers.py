"""Concurrent pulse-answer clicks against `tandem serve`: acknowledgement latency and lost answers.

Seeds N members in a team, sends their DMs with the real `tandem pulse send --now` (Slack stand-in),
starts `tandem serve`, warms it up with refused clicks (from a non-member), then fires all requests of a
wave at once, each on its own connection, from a client process of its own (benchmarks/burst_client.py;
latency: from connect to the whole HTTP response):
  floor:  N GET /healthz (what this harness and gunicorn alone cost on this machine);
  wave 1: every member clicks an answer to their first question;
  wave 2: every member double-clicks two other values of that question (2N requests).
After each wave: up to 10 s for the background work, then the `answers` table must hold exactly one row
per delivery (the clicked question, a clicked value) and the stand-in one chat.update per click.
Targets (issue): p99 acknowledgement < 200 ms, zero lost answers.
Each wave also gives the server's CPU per click (and how much of it went before the last answer) and
the load average: on a machine other work shares, latency follows the CPU left over.

Run:  .venv/bin/python benchmarks/bench_answers.py [--clicks 100] [--database-url URL] [--no-double-click]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from benchmarks.burst_client import Request, fire  # noqa: E402
from benchmarks.serving import cpu_seconds  # noqa: E402
from jobs.members import member_from_slack  # noqa: E402
from storage.db import SessionFactory, make_engine, make_session_factory, transaction  # noqa: E402
from storage.members import upsert_members  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Answer, Delivery, Member  # noqa: E402
from storage.teams import add_team_members, create_team  # noqa: E402
from tests.slack_signing import SIGNING_SECRET, fixture, interaction_request  # noqa: E402
from tests.slack_standin import BOT_TOKEN, TEAM_ID, SlackStandin, make_user  # noqa: E402

TANDEM = str(Path(sys.executable).with_name("tandem"))


class Target(NamedTuple):
    """A member's delivered DM and the answer buttons of its first question."""

    user: str
    delivery_id: int
    channel: str
    ts: str
    block_id: str  # "a<question id>"
    buttons: list[dict[str, Any]]


def click(standin: SlackStandin, target: Target, button: dict[str, Any], user: str | None = None) -> Request:
    """A signed block_actions request shaped like ../shared/fixtures/slack/block_actions_message_button.bolt.json."""
    user = user or target.user
    payload = fixture("block_actions_message_button.bolt.json")
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "tandem-test"}
    payload["container"] = {
        "type": "message",
        "message_ts": target.ts,
        "channel_id": target.channel,
        "is_ephemeral": False,
    }
    payload["channel"] = {"id": target.channel, "name": "directmessage"}
    payload["trigger_id"] = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
    payload["response_url"] = standin.base_url.replace("/api/", f"/actions/{TEAM_ID}/{uuid.uuid4().hex}")
    action = {k: button[k] for k in ("action_id", "text", "value", "type")}
    payload["actions"] = [{**action, "block_id": target.block_id, "action_ts": f"{time.time():.6f}"}]
    return ("POST", "/slack/events", *interaction_request(payload))


def rank(values: list[float], p: float) -> float:
    ordered = sorted(values) or [math.nan]
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def percentiles(values: list[float]) -> str:
    return "  ".join(f"{n} {rank(values, p):6.1f} ms" for n, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)))


def seed_and_send(
    factory: SessionFactory, members: int, env: dict[str, str], work: Path, standin: SlackStandin
) -> list[Target]:
    """Members, a team, then the real `tandem pulse send --now`; returns each member's DM as delivered."""
    now = datetime.now(UTC)
    with transaction(factory) as session:
        upsert_members(session, [r for i in range(members) if (r := member_from_slack(make_user(i)))], now)
        add_team_members(session, create_team(session, "Bench", now).id, list(session.scalars(select(Member.id))))
    sent = subprocess.run(
        [TANDEM, "pulse", "send", "--team", "Bench", "--now"], cwd=work, env=env, capture_output=True, text=True
    )
    if sent.returncode != 0:
        raise SystemExit(f"tandem pulse send failed ({sent.returncode}): {sent.stderr.strip()}")
    blocks = {c.body["channel"]: c.body["blocks"] for c in standin.calls_to("chat.postMessage")}
    with factory() as session:
        rows = session.execute(
            select(Member.slack_user_id, Delivery.id, Delivery.channel_id, Delivery.message_ts).join(Delivery)
        ).all()
    targets = []
    for user, delivery_id, channel, ts in sorted(rows):
        first = next(b for b in blocks[user] if b["type"] == "actions" and b["block_id"].startswith("a"))
        buttons = [e for e in first["elements"] if e["action_id"].startswith("pulse_answer:")]
        targets.append(Target(user, delivery_id, channel, ts, first["block_id"], buttons))
    return targets


def start_server(env: dict[str, str], work: Path, port: int) -> subprocess.Popen[bytes]:
    with (work / "serve.log").open("wb") as log:
        server = subprocess.Popen([TANDEM, "serve"], cwd=work, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        if fire(port, [("GET", "/readyz", b"", {})], "ready")[0][1] == "200":
            return server
    raise SystemExit(f"tandem serve did not become ready:\n{(work / 'serve.log').read_text()[-3000:]}")


@dataclass
class Bench:
    port: int
    standin: SlackStandin
    factory: SessionFactory
    targets: list[Target]
    log_path: Path
    client: Executor
    server_pid: int
    updates: int = 0  # chat.update calls expected so far

    def wave(self, name: str, offsets: tuple[int, ...]) -> tuple[bool, bool]:
        """Every member clicks the answer buttons `offsets` past their index, all at once: (p99 met, none lost)."""
        requests: list[Request] = []
        expected: dict[int, set[int]] = {}
        for i, t in enumerate(self.targets):
            buttons = [t.buttons[(i + k) % len(t.buttons)] for k in offsets]
            requests += [click(self.standin, t, b) for b in buttons]
            expected[t.delivery_id] = {int(json.loads(b["value"])["v"]) for b in buttons}
        ephemeral = len(self.standin.calls_to("chat.postEphemeral"))
        self.updates += len(requests)
        started, cpu_before = time.monotonic(), cpu_seconds(self.server_pid)
        results = self.client.submit(fire, self.port, requests, name).result()
        cpu_acked = cpu_seconds(self.server_pid)
        while len(updates := self.standin.calls_to("chat.update")) < self.updates and time.monotonic() < started + 10:
            time.sleep(0.02)
        waited = f"{updates[-1].at - started:.2f} s" if len(updates) >= self.updates else "NOT within 10 s"
        # A DM that got updates out of order is refreshed until it shows what is stored: let that settle.
        while True:
            time.sleep(0.5)
            settled = self.standin.calls_to("chat.update")
            if len(settled) == len(updates):
                break
            updates = settled
        with self.factory() as session:
            stored = session.execute(select(Answer.delivery_id, Answer.question_id, Answer.value)).all()
        rows: dict[int | None, list[tuple[int, int | None]]] = {}
        for delivery_id, question_id, value in stored:
            rows.setdefault(delivery_id, []).append((question_id, value))
        ok = {
            t.delivery_id
            for t in self.targets
            if any(rows.get(t.delivery_id) == [(int(t.block_id[1:]), v)] for v in expected[t.delivery_id])
        }
        last_dm = {c.body["channel"]: c.body["blocks"] for c in updates}
        stale = [
            t
            for t in self.targets
            if shown(last_dm.get(t.channel, []), t) != dict(rows.get(t.delivery_id, [])).get(int(t.block_id[1:]))
        ]
        latencies, statuses = [ms for ms, _ in results], [status for _, status in results]
        log_lines = self.log_path.read_text().splitlines()
        server_ms = [json.loads(line)["latency_ms"] for line in log_lines if f'"request_id": "{name}-' in line]
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        cpu_settled = cpu_seconds(self.server_pid)
        print(f"{name}: {len(requests)} concurrent clicks  client {percentiles(latencies)}  HTTP {counts}")
        print(f"{name}: server request log ({len(server_ms)})        {percentiles(server_ms)}")
        print(
            f"{name}: server CPU per click {1000 * (cpu_settled - cpu_before) / len(requests):.2f} ms, of which "
            f"{1000 * (cpu_acked - cpu_before) / len(requests):.2f} ms before the last answer; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        print(
            f"{name}: answer rows {len(stored)} (expected {len(expected)}), right {len(ok)}; chat.update "
            f"{len(updates)}/{self.updates}, the last {waited} after the wave began; ephemeral refusals "
            f"{len(self.standin.calls_to('chat.postEphemeral')) - ephemeral}; DMs left showing a value other than "
            f"the stored one {len(stale)}"
        )
        p99_met = rank(latencies, 99) < 200 and statuses == ["200"] * len(results)
        self.updates = len(updates)
        return p99_met, len(ok) == len(stored) == len(expected) and not stale


def shown(blocks: list[dict[str, Any]], target: Target) -> int | None:
    """The value a DM's blocks show as chosen (the primary button) for the target's question."""
    for block in blocks:
        if block.get("block_id") == target.block_id:
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
    if options.database_url:  # a schema of its own, dropped afterwards (as tests/conftest.py does)
        schema = f"bench_answers_{uuid.uuid4().hex[:8]}"
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    standin = SlackStandin().start()
    standin._server.socket.listen(128)  # its default backlog of 5 overflows (SYN retried after 1 s) under bursts
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
    server = None
    stack = ExitStack()
    try:
        upgrade(engine)
        targets = seed_and_send(factory, options.clicks, env, work, standin)
        server = start_server(env, work, port)
        # The clicks are sent and timed from a process of their own: the stand-in's threads (Slack's side)
        # must not hold up the client's clock, as they would sharing its GIL.
        client = stack.enter_context(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")))
        bench = Bench(port, standin, factory, targets, work / "serve.log", client, server.pid)
        if options.warmup:  # first requests in each worker import and connect; these are refused (not a member)
            fire(port, [click(standin, targets[0], targets[0].buttons[0], "U99999999")] * options.warmup, "warm")
            standin.wait_for("chat.postEphemeral", options.warmup, timeout=10)
        print(f"command: {shlex.join([sys.executable, *sys.argv])}")
        sizing = " ".join(f"{k}={env.get(k, 'default')}" for k in ("TANDEM_WORKERS", "TANDEM_THREADS"))
        print(
            f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; database: {engine.dialect.name}; "
            f"deliveries: {len(targets)}; {sizing}; warm-up clicks {options.warmup}; latency: connect to response"
        )
        cpu_before = cpu_seconds(server.pid)
        floor = client.submit(fire, port, [("GET", "/healthz", b"", {})] * len(targets), "floor").result()
        floor_cpu = 1000 * (cpu_seconds(server.pid) - cpu_before) / len(targets)
        print(
            f"floor: {len(targets)} concurrent GET /healthz     client {percentiles([ms for ms, _ in floor])}  "
            f"server CPU {floor_cpu:.2f} ms a request"
        )
        waves = [("wave1", (0,))] + ([("wave2", (1, 2))] if options.double_click else [])
        verdicts = [
            (f"{name} ({len(targets) * len(offsets)} requests)", *bench.wave(name, offsets)) for name, offsets in waves
        ]
        errors = [line for line in bench.log_path.read_text().splitlines() if '"level": "ERROR"' in line]
        print(f"server log: {len(errors)} ERROR lines" + "".join(f"\n  {line[:300]}" for line in errors[:3]))
        for name, p99_met, zero_lost in verdicts:
            print(
                f"{name}: p99 acknowledgement < 200 ms: {'MET' if p99_met else 'NOT MET'};  "
                f"zero lost answers: {'MET' if zero_lost else 'NOT MET'}"
            )
    finally:
        stack.close()
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
