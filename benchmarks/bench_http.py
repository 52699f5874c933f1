"""HTTP throughput and latency of `tandem serve` against a bare endpoint of the same server stack.

Drives, with wrk (Debian package `wrk`) and 32 concurrent connections:
  1. `tandem serve` (gunicorn gthread, TANDEM_WORKERS x TANDEM_THREADS), receiving signed Events API posts,
     each with a new event_id: answered once queued, then claimed in the database in batches before its
     listeners run (bot/event_inbox.py); every answered id must be claimed by the time the server stops;
  2. the same gunicorn configuration serving an app that only returns 200, sent the same posts: as a plain
     WSGI function (the Slack route's own stack, bot/slack_edge.py) and as a Flask route
     (benchmarks/bare_server.py).
All three run side by side on ports of their own, each warmed up, then measured for --duration seconds in
turn, --rounds times over (benchmarks/serving.py says why); ratios are the median of the rounds' ratios.
Targets (issue 2): >= 1,000 requests/s, p99 < 100 ms, ratio to the bare endpoint >= 0.5 (held against
the plain WSGI one; the Flask one is printed beside it).

Run:  .venv/bin/python benchmarks/bench_http.py [--duration 5] [--rounds 3] [--connections 32] [--event user_change]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serving import Server, Wrk, combined, interleaved, print_rounds, ratios, running_all  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_requests import sign  # noqa: E402
from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TANDEM = str(Path(sys.executable).with_name("tandem"))
PORT = 3917

LUA = r"""
local requests = {}
local index = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  -- each wrk thread takes every stride-th line from its own offset: no event id is sent twice
  local path, stride, offset = args[1], tonumber(args[2]), id
  local n = 0
  for line in io.lines(path) do
    if n % stride == offset then
      local ts, sig, body = line:match("^(%d+)\t(%S+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/slack/events", {
        ["Content-Type"] = "application/json",
        ["X-Slack-Request-Timestamp"] = ts,
        ["X-Slack-Signature"] = sig,
      }, body)
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


def write_requests(path: Path, count: int, event_type: str) -> None:
    stamp = str(int(time.time()))
    with path.open("w") as out:
        for i in range(count):
            event: dict[str, object] = {"type": event_type, "event_ts": f"{stamp}.{i:06d}"}
            if event_type in ("user_change", "team_join"):
                event["user"] = make_user(i % 5000)
            else:
                event.update(user="U00000001", reaction="tada", item={"type": "message", "channel": "C1", "ts": "1.2"})
            envelope = {
                "token": "verification_token",
                "team_id": "T0TANDEM1",
                "api_app_id": "A111",
                "type": "event_callback",
                "event": event,
                "event_id": f"Ev{uuid.uuid4().hex[:16]}",
                "event_time": int(stamp),
                "authorizations": [{"team_id": "T0TANDEM1", "user_id": "U0TANDEMBOT", "is_bot": True}],
            }
            body = json.dumps(envelope, separators=(",", ":")).encode()
            out.write(f"{stamp}\t{sign(SECRET, stamp, body)}\t{body.decode()}\n")


BARE = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds of measured load per server and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (benchmarks/serving.py)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--event", default="reaction_added", help="event type to post (user_change does DB work)")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    # A file of its own for each round: every request tandem is sent carries a new event id.
    request_files = [work / f"requests-{n}.tsv" for n in range(options.rounds)]
    for path in request_files:
        write_requests(path, 15000 * options.duration, options.event)  # more ids than a round can send
    warmup_file = work / "warmup.tsv"
    write_requests(warmup_file, 20000, options.event)  # more than 2 s can send: no id is sent twice
    script = work / "events.lua"
    script.write_text(LUA)
    load = Wrk(options.connections, options.wrk_threads, script)

    claimed_before = count_claimed(options.database_url) if options.database_url else 0
    with SlackStandin() as standin:
        env = {
            "PATH": os.environ["PATH"],
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "TANDEM_SLACK_API_URL": standin.base_url,
            "TANDEM_LOG_FORMAT": "json",
            "TANDEM_DATABASE_URL": options.database_url or f"sqlite:///{work / 'tandem.db'}",
            **{k: v for k, v in os.environ.items() if k in ("TANDEM_WORKERS", "TANDEM_THREADS")},
        }
        settings = load_settings(env, None)
        servers = [
            Server("tandem", [TANDEM, "serve"], env, PORT, work / "serve.log"),
            Server("bare", BARE, env, PORT + 1, work / "bare.log"),
            Server("flask", [*BARE, "--flask"], env, PORT + 2, work / "bare-flask.log"),
        ]
        ports = {server.name: server.port for server in servers}
        with running_all(servers) as processes:
            # bolt's first request per worker calls auth.test: warmed up before anything is measured.
            warmups = {s.name: load.run(url(s.port), warmup_file, 2) for s in servers}

            def measure(name: str, number: int) -> dict[str, Any]:
                return load.run(url(ports[name]), request_files[number], options.duration, processes[name].pid)

            rounds = interleaved([server.name for server in servers], options.rounds, measure)
        slack_calls = {m: len(standin.calls_to(m)) for m in {c.method for c in standin.calls}}
    for path in (*request_files, warmup_file):  # tens of megabytes; the servers' logs stay in `work`
        path.unlink(missing_ok=True)
    per_worker = requests_per_worker(work / "serve.log")
    stored = count_claimed(env["TANDEM_DATABASE_URL"]) - claimed_before
    tandem = combined(rounds["tandem"])
    bare_ratios, flask_ratios = ratios(rounds["tandem"], rounds["bare"]), ratios(rounds["tandem"], rounds["flask"])
    ratio, flask_ratio = statistics.median(bare_ratios), statistics.median(flask_ratios)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine: {os.cpu_count()} cores; server: gunicorn gthread {settings.workers} workers x "
        f"{settings.threads} threads; wrk -t{options.wrk_threads} -c{options.connections} -d{options.duration}s, "
        f"{options.rounds} interleaved rounds per server"
    )
    names = {"tandem": "tandem /slack/events", "bare": "bare 200, plain WSGI", "flask": "bare 200, Flask"}
    print_rounds(rounds, names, "plain WSGI", bare_ratios)
    answered = warmups["tandem"]["requests"] + tandem["requests"]
    # wrk counts the answers it read before its clock stopped; at the end of the warm-up and of each round a
    # request per connection may still have been in flight, and was claimed too.
    in_flight = (1 + options.rounds) * options.connections
    print(
        f"event ids claimed in the database: {stored}; answered 200 within wrk's runs: {answered} "
        f"(warm-up included); claimed - answered = {stored - answered} (0 to {in_flight} in flight)"
    )
    print(
        f"ratio tandem/bare (median of the rounds): {ratio:.2f} to the plain WSGI endpoint, "
        f"{flask_ratio:.2f} to the Flask one"
    )
    print(f"calls to the Slack API stand-in: {slack_calls}")
    print(f"/slack/events requests per worker process (warm-up included): {per_worker}")
    none_lost = 0 <= stored - answered <= in_flight
    verdict = tandem["rps"] >= 1000 and tandem["p99_ms"] < 100 and ratio >= 0.5 and tandem["non_2xx"] == 0 and none_lost
    print(
        "targets (>= 1000 req/s, p99 < 100 ms in every round, median ratio to plain WSGI >= 0.5, no errors, "
        "none lost):",
        "MET" if verdict else "NOT MET",
    )


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/slack/events"


def requests_per_worker(log_path: Path) -> list[int]:
    """How the connections spread over gunicorn's workers (each keeps its keep-alive connections)."""
    counts: dict[int, int] = {}
    for line in log_path.read_text().splitlines():
        if line.startswith("{") and '"path": "/slack/events"' in line:
            pid = json.loads(line)["pid"]
            counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


def count_claimed(url: str) -> int:
    from sqlalchemy import func, inspect, select

    from storage.db import make_engine
    from storage.models import ProcessedSlackEvent

    engine = make_engine(url)
    with engine.connect() as connection:
        if not inspect(connection).has_table(ProcessedSlackEvent.__tablename__):
            return 0
        return connection.execute(select(func.count()).select_from(ProcessedSlackEvent)).scalar_one()


if __name__ == "__main__":
    main()
