"""HTTP throughput and latency of `tandem serve` against a bare endpoint of the same server stack.

Drives, with wrk (Debian package `wrk`) and 32 concurrent connections:
  1. `tandem serve` (gunicorn gthread, TANDEM_WORKERS x TANDEM_THREADS), receiving signed Events API posts,
     each with a new event_id: answered once queued, then claimed in the database in batches before its
     listeners run (bot/event_inbox.py); every answered id must be claimed by the time the server stops;
  2. the same gunicorn configuration serving an app that only returns 200, sent the same posts: as a plain
     WSGI function (the Slack route's own stack, bot/slack_edge.py) and as a Flask route
     (benchmarks/bare_server.py).
Targets (issue 2): >= 1,000 requests/s, p99 < 100 ms, ratio to the bare endpoint >= 0.5 (held against
the plain WSGI one; the Flask one is printed beside it).

Run:  .venv/bin/python benchmarks/bench_http.py [--duration 10] [--connections 32] [--event user_change]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import cpu_seconds  # noqa: E402
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


def wait_ready(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not become ready")


@dataclass(frozen=True)
class Load:
    duration: int
    connections: int
    wrk_threads: int
    script: Path
    warmup_file: Path
    requests_file: Path

    def run(self, port: int, requests_file: Path, duration: int) -> dict[str, float]:
        command = ["wrk", f"-t{self.wrk_threads}", f"-c{self.connections}", f"-d{duration}s", "--latency"]
        command += ["--timeout", "5s", "-s", str(self.script), f"http://127.0.0.1:{port}/slack/events"]
        command += ["--", str(requests_file), str(self.wrk_threads)]
        return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def serve_and_measure(command: list[str], env: dict[str, str], log_path: Path, load: Load) -> dict[str, float]:
    """Start a server on PORT, warm it up (bolt's first request per worker calls auth.test), measure, stop it."""
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=log_path.parent, env=env, stderr=log, stdout=log)
        try:
            wait_ready(PORT, "/readyz", server)
            warmup = load.run(PORT, load.warmup_file, 2)
            cpu_before = cpu_seconds(server.pid)
            result = load.run(PORT, load.requests_file, load.duration)
            # On a machine other work shares, req/s follows the CPU left over; CPU per request does not.
            result["cpu_ms"] = 1000 * (cpu_seconds(server.pid) - cpu_before) / max(1, result["requests"])
            result["load"] = os.getloadavg()[0]
            result["warmup_requests"] = warmup["requests"]
            return result
        finally:
            server.terminate()
            server.wait(60)


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    result["requests"] = float(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = ms(re.search(rf"\s{pct}%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = socket_errors.group(1) if socket_errors else "none"  # type: ignore[assignment]
    return result


BARE = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--event", default="reaction_added", help="event type to post (user_change does DB work)")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    requests_file = work / "requests.tsv"
    count = 15000 * options.duration  # more unique event ids than the run can send, per wrk thread too
    write_requests(requests_file, count, options.event)
    warmup_file = work / "warmup.tsv"
    write_requests(warmup_file, 20000, options.event)  # more than 2 s can send: no id is sent twice
    script = work / "events.lua"
    script.write_text(LUA)

    claimed_before = count_claimed(options.database_url) if options.database_url else 0
    with SlackStandin() as standin:
        env = {
            "PATH": os.environ["PATH"],
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "TANDEM_SLACK_API_URL": standin.base_url,
            "TANDEM_PORT": str(PORT),
            "TANDEM_LOG_FORMAT": "json",
            "TANDEM_DATABASE_URL": options.database_url or f"sqlite:///{work / 'tandem.db'}",
            **{k: v for k, v in os.environ.items() if k in ("TANDEM_WORKERS", "TANDEM_THREADS")},
        }
        settings = load_settings(env, None)
        load = Load(options.duration, options.connections, options.wrk_threads, script, warmup_file, requests_file)
        results = {
            "tandem": serve_and_measure([TANDEM, "serve"], env, work / "serve.log", load),
            "bare": serve_and_measure(BARE, env, work / "bare.log", load),
            "flask": serve_and_measure([*BARE, "--flask"], env, work / "bare-flask.log", load),
        }
        slack_calls = {m: len(standin.calls_to(m)) for m in {c.method for c in standin.calls}}
    per_worker = requests_per_worker(work / "serve.log")
    stored = count_claimed(env["TANDEM_DATABASE_URL"]) - claimed_before
    tandem, bare_result = results["tandem"], results["bare"]
    ratio = tandem["rps"] / bare_result["rps"]
    flask_ratio = tandem["rps"] / results["flask"]["rps"]
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine: {os.cpu_count()} cores; server: gunicorn gthread {settings.workers} workers x "
        f"{settings.threads} threads; wrk -t{options.wrk_threads} -c{options.connections} -d{options.duration}s"
    )
    rows = (
        ("tandem /slack/events", tandem),
        ("bare 200, plain WSGI", bare_result),
        ("bare 200, Flask", results["flask"]),
    )
    for name, r in rows:
        print(
            f"{name:22} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p90 {r['p90_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms  requests {int(r['requests'])}  non-2xx {int(r['non_2xx'])}  "
            f"socket errors {r['socket_errors']}  server CPU {r['cpu_ms']:.2f} ms/request  load {r['load']:.1f}"
        )
    answered = int(tandem["warmup_requests"] + tandem["requests"])
    # wrk counts the answers it read before its clock stopped; at the end of the warm-up and of the run a
    # request per connection may still have been in flight, and was claimed too.
    print(
        f"event ids claimed in the database: {stored}; answered 200 within wrk's runs: {answered} "
        f"(warm-up included); claimed - answered = {stored - answered} (0 to {2 * options.connections} in flight)"
    )
    print(f"ratio tandem/bare: {ratio:.2f} to the plain WSGI endpoint, {flask_ratio:.2f} to the Flask one")
    print(f"calls to the Slack API stand-in: {slack_calls}")
    print(f"/slack/events requests per worker process (warm-up included): {per_worker}")
    none_lost = 0 <= stored - answered <= 2 * options.connections
    verdict = tandem["rps"] >= 1000 and tandem["p99_ms"] < 100 and ratio >= 0.5 and tandem["non_2xx"] == 0 and none_lost
    print(
        "targets (>= 1000 req/s, p99 < 100 ms, ratio to plain WSGI >= 0.5, no errors, none lost):",
        "MET" if verdict else "NOT MET",
    )


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
