"""Helpdesk webhook ingestion by `tandem serve`: throughput, latency, and no event lost in a burst of retries.

Drives `tandem serve` (gunicorn gthread, TANDEM_WORKERS x TANDEM_THREADS, as configured) with wrk
(Debian package `wrk`) and --connections concurrent senders, posting signed helpdesk webhooks:
half Zendesk event-subscription `ticket.status_changed` (OPEN -> SOLVED) events, half Intercom
`conversation.admin.closed` notifications, each with an id of its own and each sent once, so every
request is a new delivery made safe before the answer (on SQLite journaled, on PostgreSQL committed) and
written into the database with its one outcome event just after it (jobs/helpdesk/ingest_queue.py); the
counts are read once the server has written in what it answered.

  1. throughput: `tandem serve` on a fresh database and, running beside it on ports of their own, the same
     gunicorn configuration serving an app that only returns 200 (benchmarks/bare_server.py), sent the same
     requests: as a plain WSGI function, Tandem's own stack (bot/http_app.py is plain WSGI), which the ratio
     target is held against, as bench_http holds its own; and as a Flask route, printed beside it (Tandem
     has not used Flask since e86d056, yet until 2026-11-23 this benchmark held the target against that
     slower endpoint: 0.38-0.45 to it, where runs of both measure 0.20-0.26 to the plain one; figures and
     what was tried in docs/ingest-performance.md). And, for scale (on SQLite), the issue's yardstick: a
     plain WSGI endpoint inserting each body into SQLite in WAL mode, nothing else (bare_server.py
     --sqlite-insert), which the issue puts at about 0.75 of bare. Each is warmed up, then measured for
     --duration seconds in turn, --rounds times over (benchmarks/serving.py says why); the ratio held
     against the target is the median of the rounds' ratios, each round's printed beside it;
  3. burst: a fresh database, 10,000 distinct events each sent twice (20,000 requests, the two copies
     of an event at the same moment on two connections): exactly 10,000 must be stored.

Targets (issue): >= 1,000 events/s on SQLite, >= 0.4 of the plain WSGI bare endpoint's throughput in the
same run, no errors; the burst stores exactly 10,000 events and 10,000 deliveries.

Each server line also gives the CPU time the server's processes spent per request, and the load average:
on a machine other work shares, throughput follows the CPU that work leaves over, while CPU per request
is closer to the server's own cost.

Run:  .venv/bin/python benchmarks/bench_ingest.py [--duration 5] [--rounds 3] [--connections 32]
                                                  [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import queue
import shlex
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from benchmarks.serving import (  # noqa: E402
    Server,
    Wrk,
    combined,
    interleaved,
    print_rounds,
    ratios,
    running,
    running_all,
)
from bot.settings import load_settings  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import HelpdeskEvent, WebhookDelivery  # noqa: E402
from tests.slack_standin import BOT_TOKEN, SlackStandin  # noqa: E402

TANDEM = str(Path(sys.executable).with_name("tandem"))
PORT = 3918
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ZENDESK_SECRET = "bench-zendesk-signing-secret"
INTERCOM_SECRET = "bench-intercom-client-secret"
FIXTURES = ROOT.parent / "shared" / "fixtures" / "helpdesk"
BURST_EVENTS = 10_000
TARGET_RATE, TARGET_RATIO = 1000.0, 0.4

# Each wrk thread takes every stride-th line from its own offset, so no request is sent twice (until the
# file runs out: then it starts again, and the repeats are answered as duplicates; the summary says so).
# A line: path, the number of headers, name and value of each, then the body; all tab-separated.
LUA = r"""
local requests = {}
local index = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  local path, stride, offset = args[1], tonumber(args[2]), id
  local n = 0
  for line in io.lines(path) do
    if n % stride == offset then
      local fields = {}
      for value in (line .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = value end
      local headers = {["Content-Type"] = "application/json"}
      local count = tonumber(fields[2])
      for i = 0, count - 1 do headers[fields[3 + 2 * i]] = fields[4 + 2 * i] end
      requests[#requests + 1] = wrk.format("POST", fields[1], headers, fields[3 + 2 * count])
    end
    n = n + 1
  end
end
function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
"""

BARE_SERVER = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py")]  # plain WSGI, as Tandem's routes
FLASK_SERVER = [*BARE_SERVER, "--flask"]
INSERT_SERVER = [*BARE_SERVER, "--sqlite-insert"]


# -- the requests -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    path: str
    headers: dict[str, str]
    body: bytes


class Payloads:
    """Signed Zendesk and Intercom deliveries, every one with ids of its own (the real payloads' shapes)."""

    def __init__(self) -> None:
        self.zendesk = json.loads((FIXTURES / "zendesk" / "event_ticket_status_changed_solved.json").read_bytes())
        self.intercom = json.loads((FIXTURES / "intercom" / "conversation_admin_closed.json").read_bytes())

    def make(self, n: int, tag: str, now: float) -> Webhook:
        if n % 2 == 0:
            doc = copy.deepcopy(self.zendesk)
            doc["id"] = f"{tag}-{uuid.uuid4()}"
            doc["detail"]["id"] = doc["subject"].removeprefix("zen:ticket:") + str(n)
            doc["subject"] = f"zen:ticket:{doc['detail']['id']}"
            body = json.dumps(doc, separators=(",", ":")).encode()
            # Zendesk signs the timestamp header and the body; Tandem takes signatures up to an hour old.
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            digest = hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
            headers = {
                "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            }
            return Webhook("/webhooks/zendesk", headers, body)
        doc = copy.deepcopy(self.intercom)
        doc["id"] = f"notif_{tag}-{uuid.uuid4()}"
        doc["data"]["item"]["id"] = str(21322009097 + n)
        body = json.dumps(doc, separators=(",", ":")).encode()
        signature = "sha1=" + hmac.new(INTERCOM_SECRET.encode(), body, hashlib.sha1).hexdigest()
        return Webhook("/webhooks/intercom", {"X-Hub-Signature": signature}, body)

    def write(self, path: Path, count: int, tag: str) -> None:
        now = time.time()
        with path.open("w") as out:
            for n in range(count):
                hook = self.make(n, tag, now)
                fields = [hook.path, str(len(hook.headers))]
                for name, value in hook.headers.items():
                    fields += [name, value]
                out.write("\t".join([*fields, hook.body.decode()]) + "\n")


# -- servers and load -------------------------------------------------------------------------------------


def serve_env(slack_api_url: str) -> dict[str, str]:
    """The settings `tandem serve` is started with here (and by benchmarks/compare_ingest.py), but the database."""
    return {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "TANDEM_SLACK_API_URL": slack_api_url,
        "TANDEM_LOG_FORMAT": "json",
        "TANDEM_ZENDESK_SECRET": ZENDESK_SECRET,
        "TANDEM_INTERCOM_SECRET": INTERCOM_SECRET,
    }


# -- the burst: every event twice, both copies at once ---------------------------------------------------


@dataclass
class BurstResult:
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # the bodies of the 200s, as Tandem answered them
    errors: Counter[str] = field(default_factory=Counter)  # exceptions by type


def burst(hooks: list[Webhook], connections: int) -> BurstResult:
    """Each hook twice, in pairs taken by two of `connections` keep-alive senders at the same moment."""
    work: queue.SimpleQueue[Webhook | None] = queue.SimpleQueue()
    for hook in hooks:
        work.put(hook)
        work.put(hook)
    for _ in range(connections):
        work.put(None)
    result, lock = BurstResult(), threading.Lock()

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        while (hook := work.get()) is not None:
            try:
                connection.request("POST", hook.path, hook.body, {"Content-Type": "application/json", **hook.headers})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                with lock:
                    result.errors[type(error).__name__] += 1
                continue
            answer = body.decode("utf-8", "replace").strip()  # the same for both copies: no lookup before it
            with lock:
                result.statuses[response.status] += 1
                result.answers[answer] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


# -- databases --------------------------------------------------------------------------------------------


class Databases:
    """Fresh SQLite files, or fresh schemas in the given PostgreSQL database (dropped afterwards)."""

    def __init__(self, option: str, work: Path) -> None:
        self.option, self.work, self.schemas = option, work, []  # type: ignore[var-annotated]

    def fresh(self, label: str) -> str:
        if not self.option:
            return f"sqlite:///{self.work / f'{label}.db'}"
        schema = f"bench_ingest_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.option, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        self.schemas.append(schema)
        return f"{self.option}{'&' if '?' in self.option else '?'}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        if not self.schemas:
            return
        admin = create_engine(self.option, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for schema in self.schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class DeliveryCounter:
    """Deliveries in the database now, counted on a connection kept open for the run."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def deliveries(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()


def count_rows(url: str, settle: float = 30) -> tuple[int, int]:
    """(helpdesk events, webhook deliveries) stored, once the server has written in what it answered:
    no kept delivery waits for its events, and the count of deliveries has not moved for half a second
    (on SQLite they reach the database just after their answers, from the journal), or `settle` seconds
    have passed."""
    engine = make_engine(url)
    deadline = time.monotonic() + settle
    received = select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "received")
    kept = select(func.count()).select_from(WebhookDelivery)
    try:
        with engine.connect() as connection:
            last = -1
            while time.monotonic() < deadline:
                now_kept = connection.execute(kept).scalar_one()
                if now_kept == last and not connection.execute(received).scalar_one():
                    break
                connection.rollback()
                last = now_kept
                time.sleep(0.5)
            events = connection.execute(select(func.count()).select_from(HelpdeskEvent)).scalar_one()
            deliveries = connection.execute(kept).scalar_one()
    finally:
        engine.dispose()
    return events, deliveries


# -- main -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds of measured load per server and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (benchmarks/serving.py)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent senders")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--burst", type=int, default=BURST_EVENTS, help="distinct events in the burst")
    parser.add_argument("--database-url", default="", help="default: fresh SQLite files; PostgreSQL: new schemas")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-bench-ingest-"))
    payloads = Payloads()
    # A file of its own for each round: every request tandem is sent is a new delivery.
    request_files = [work / f"requests-{n}.tsv" for n in range(options.rounds)]
    warmup_file = work / "warmup.tsv"
    unique = 8000 * options.duration  # more distinct events than a round is expected to send, per wrk thread too
    for n, path in enumerate(request_files):
        payloads.write(path, unique, f"run{n}")
    payloads.write(warmup_file, 3000, "warm")
    script = work / "webhooks.lua"
    script.write_text(LUA)
    load = Wrk(options.connections, options.wrk_threads, script)
    databases = Databases(options.database_url, work)

    try:
        with SlackStandin() as standin:
            standin.record_calls = False
            env = {
                **serve_env(standin.base_url),
                **{k: v for k, v in os.environ.items() if k in ("TANDEM_WORKERS", "TANDEM_THREADS")},
            }
            settings = load_settings(env, None)

            url = databases.fresh("run")
            env = {**env, "TANDEM_DATABASE_URL": url}
            servers = [
                Server("tandem", [TANDEM, "serve"], env, PORT, work / "serve.log"),
                Server("bare", BARE_SERVER, env, PORT + 1, work / "bare.log"),
                Server("flask", FLASK_SERVER, env, PORT + 2, work / "bare-flask.log"),
            ]
            if not options.database_url:
                servers.append(Server("insert", INSERT_SERVER, env, PORT + 3, work / "insert.log"))
            ports = {server.name: server.port for server in servers}
            counter = DeliveryCounter(url)
            with running_all(servers) as processes:
                for server in servers:
                    load.run(f"http://127.0.0.1:{server.port}/", warmup_file, 2)
                time.sleep(1)  # the warm-up's last requests, still in flight when wrk stopped, are stored
                before = count_rows(url)

                def measure(name: str, number: int) -> dict[str, Any]:
                    # The yardsticks are sent a file tandem was sent too: to them a repeat costs the same.
                    url_of = f"http://127.0.0.1:{ports[name]}/"
                    if name != "tandem":
                        return load.run(url_of, request_files[number], options.duration, processes[name].pid)
                    # Tandem answers once a delivery is safe and writes it in just after: its throughput is
                    # what it wrote in while the round ran, not what it answered (answers could run ahead).
                    written = counter.deliveries()
                    result = load.run(url_of, request_files[number], options.duration, processes[name].pid)
                    result["written"] = counter.deliveries() - written
                    return result

                rounds = interleaved([server.name for server in servers], options.rounds, measure)
                time.sleep(1)
                after = count_rows(url)

            burst_url = databases.fresh("burst")
            hooks = [payloads.make(n, "burst", time.time()) for n in range(options.burst)]
            burst_server = Server("burst", [TANDEM, "serve"], {**env, "TANDEM_DATABASE_URL": burst_url}, PORT,
                                  work / "burst.log")  # fmt: skip
            with running(burst_server):
                bursted = burst(hooks, options.connections)
                burst_rows = count_rows(burst_url)
            stopped_rows = count_rows(burst_url)  # after SIGTERM, which writes in what is pending first
    finally:
        databases.drop()
        for path in (*request_files, warmup_file):  # tens of megabytes; the servers' logs stay in `work`
            path.unlink(missing_ok=True)

    stored = (after[0] - before[0], after[1] - before[1])
    repeats = sum(max(0, r["requests"] - unique) for r in rounds["tandem"])
    report(options, work, settings, rounds, stored, repeats, bursted, burst_rows, stopped_rows)


def report(
    options: argparse.Namespace,
    work: Path,
    settings: Any,
    rounds: dict[str, list[dict[str, Any]]],
    stored: tuple[int, int],
    repeats: int,
    bursted: BurstResult,
    burst_rows: tuple[int, int],
    stopped_rows: tuple[int, int],
) -> None:
    backend = "PostgreSQL" if options.database_url else "SQLite"
    stored_events, stored_deliveries = stored
    tandem = combined(rounds["tandem"])
    answered = tandem["requests"] - tandem["non_2xx"]
    # Held to what it wrote into the database while the rounds ran (each one's events with it): the
    # conservative figure. Answers may run ahead of it by what waits in memory, at most PACE_MARK a worker.
    written_rounds = [{**r, "rps": r["written"] / r["duration"]} for r in rounds["tandem"]]
    written = sum(r["written"] for r in rounds["tandem"])
    rate = written / tandem["duration"]
    round_ratios = ratios(written_rounds, rounds["bare"])
    ratio = statistics.median(round_ratios)
    errors = tandem["non_2xx"] + (0 if tandem["socket_errors"] == "none" else 1)
    in_flight = options.rounds * options.connections
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"server logs: {work}")
    print(
        f"machine: {os.cpu_count()} cores; database: {backend}; server: gunicorn gthread {settings.workers} workers"
        f" x {settings.threads} threads; wrk -t{options.wrk_threads} -c{options.connections} -d{options.duration}s,"
        f" {options.rounds} interleaved rounds per server"
    )
    names = {
        "tandem": "tandem /webhooks/*",
        "bare": "bare 200, plain WSGI",
        "flask": "bare 200, Flask",
        "insert": "bare SQLite insert",
    }
    print_rounds(rounds, names, "plain WSGI", round_ratios)
    print(
        f"tandem wrote {written} deliveries into the database while the rounds ran ({rate:.0f}/s), of {answered}"
        f" answered ({answered / tandem['duration']:.0f}/s); each round: "
        + ", ".join(f"{r['written'] / r['duration']:.0f} of {r['rps']:.0f}/s" for r in rounds["tandem"])
    )
    flask_ratio = statistics.median(ratios(written_rounds, rounds["flask"]))
    print(
        f"ratio tandem/bare (median of the rounds, tandem's written in): {ratio:.2f} to the plain WSGI endpoint,"
        f" {flask_ratio:.2f} to Flask"
    )
    if "insert" in rounds:
        inserting = statistics.median(ratios(rounds["insert"], rounds["bare"]))
        tandem_of_it = statistics.median(ratios(written_rounds, rounds["insert"]))
        print(
            f"for scale: the SQLite-inserting endpoint reaches {inserting:.2f} of the plain bare one (median of the "
            f"rounds; the issue: about 0.75); tandem reaches {tandem_of_it:.2f} of it"
        )
    print(
        f"stored during the measured run: {stored_events} events, {stored_deliveries} deliveries, for {answered}"
        f" requests answered 2xx ({repeats} of them repeats of an event already sent)"
    )
    expected = options.burst
    print(
        f"burst: {2 * expected} requests ({expected} events x 2) by {options.connections} senders in "
        f"{bursted.seconds:.1f} s ({2 * expected / bursted.seconds:.0f} req/s): statuses {dict(bursted.statuses)}, "
        f"answers {dict(bursted.answers)}, errors {dict(bursted.errors) or 'none'}; stored {burst_rows[0]} events, "
        f"{burst_rows[1]} deliveries while serving, {stopped_rows[0]} and {stopped_rows[1]} after its stop"
    )
    rows = [
        (f"events/s written in ({backend}, {options.connections} senders)", f"{rate:.0f}", f">= {TARGET_RATE:.0f}",
         rate >= TARGET_RATE),
        ("ratio to the bare plain WSGI endpoint (median)", f"{ratio:.2f}", f">= {TARGET_RATIO}", ratio >= TARGET_RATIO),
        ("errors (non-2xx, socket)", f"{tandem['non_2xx']}, {tandem['socket_errors']}", "0, none", errors == 0),
        # wrk counts the answers it read before the time was up; up to one request per connection was still
        # in flight then, at the end of each round, and is stored too.
        ("events stored vs 2xx answered", f"{stored_events} / {answered}", f"+0..{in_flight}",
         0 <= stored_events - (answered - repeats) <= in_flight and stored_deliveries == stored_events),
        ("latency p50 / p99", f"{tandem['p50_ms']:.1f} / {tandem['p99_ms']:.1f} ms", "(reported)", None),
        ("burst: events stored", str(burst_rows[0]), f"= {expected}", burst_rows[0] == expected),
        ("burst: deliveries stored", str(burst_rows[1]), f"= {expected}", burst_rows[1] == expected),
        ("burst: events, deliveries after the stop", f"{stopped_rows[0]}, {stopped_rows[1]}",
         f"= {expected}, {expected}", stopped_rows == (expected, expected)),
        ("burst: answers 200, none lost", f"{bursted.statuses.get(200, 0)} / {2 * expected}",
         f"= {2 * expected}", bursted.statuses.get(200, 0) == 2 * expected and not bursted.errors),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':{width}}  {'figure':>22}  {'target':>10}  result")
    for name, figure, target, ok in rows:
        verdict = "-" if ok is None else "PASS" if ok else "FAIL"
        print(f"{name:{width}}  {figure:>22}  {target:>10}  {verdict}")
    verdicts = [ok for *_, ok in rows if ok is not None]
    print("targets:", "MET" if all(verdicts) else "NOT MET")


if __name__ == "__main__":
    main()
