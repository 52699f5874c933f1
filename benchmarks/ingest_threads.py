"""Where `tandem serve`'s CPU goes under bench_ingest's load, thread by thread, read inside its workers.

Starts `tandem serve` (the code of --source, this checkout's by default) on a fresh SQLite file, warms it
up, then sends bench_ingest's signed Zendesk and Intercom webhooks with wrk (32 connections) for
--duration seconds, --rounds times. Each worker reads its own threads' CPU clocks (CLOCK_THREAD_CPUTIME_ID)
and times the garbage collector (gc.callbacks) from a `sitecustomize` this script puts on the workers'
PYTHONPATH; what each kind of thread spent during a round is divided by the requests wrk counted:

  request threads  gunicorn's thread pool (gunicorn's own work and the WSGI app)
  poller           gunicorn's main thread
  storer           jobs/helpdesk/ingest_queue.py's thread
  log writer       bot/logging_setup.py's thread
  GC (in those)    the collector's passes, in whichever thread they ran
  all              the workers' whole CPU time

It measures one version at a time; a change measured this way is compared in interleaved runs (--source
pointing at a worktree of the other version). --bare measures benchmarks/bare_server.py instead.

Run:  .venv/bin/python benchmarks/ingest_threads.py [--rounds 3] [--duration 10] [--source DIR] [--bare]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import LUA, TANDEM, Payloads, serve_env  # noqa: E402
from benchmarks.serving import Wrk, wait_ready  # noqa: E402
from tests.slack_standin import SlackStandin  # noqa: E402

PORT = 3977
LABELS = {
    "ThreadPoolExecutor-0": "request threads",
    "MainThread": "poller",
    "webhook-events": "storer",
    "log-writer": "log writer",
    "GC": "GC (in those)",
    "process": "all",
}

# Written into the workers' PYTHONPATH: after gunicorn's fork each worker writes its figures to a file of its
# own in TANDEM_THREADS_OUT every quarter second.
SITECUSTOMIZE = r"""
import gc, json, os, threading, time

_gc = [0.0, 0.0]  # seconds in the collector, the current pass's start


def _timed(phase, _info):
    if phase == "start":
        _gc[1] = time.perf_counter()
    else:
        _gc[0] += time.perf_counter() - _gc[1]


def _threads():
    spent = {}
    for thread in threading.enumerate():
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, TypeError, ValueError):
            continue
        name = thread.name.split("_")[0] if thread.name.startswith("ThreadPoolExecutor") else thread.name
        spent[name] = spent.get(name, 0.0) + seconds
    return spent


def _report(directory):
    while True:
        time.sleep(0.25)
        figures = {"threads": _threads(), "GC": _gc[0], "process": time.process_time()}
        scratch = os.path.join(directory, f".{os.getpid()}")
        with open(scratch, "w") as out:
            json.dump(figures, out)
        os.replace(scratch, os.path.join(directory, str(os.getpid())))


if os.environ.get("TANDEM_THREADS_OUT"):
    gc.callbacks.append(_timed)
    os.register_at_fork(
        after_in_child=lambda: threading.Thread(
            target=_report, args=(os.environ["TANDEM_THREADS_OUT"],), name="threads-report", daemon=True
        ).start()
    )
"""


def snapshot(directory: Path) -> dict[str, dict[str, float]]:
    """Each worker's latest figures, flattened: {pid: {kind: seconds}}."""
    time.sleep(0.3)  # a report newer than the moment asked about
    found = {}
    for path in directory.glob("[0-9]*"):
        figures = json.loads(path.read_text())
        found[path.name] = {**figures["threads"], "GC": figures["GC"], "process": figures["process"]}
    return found


def spent(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], requests: int) -> dict[str, float]:
    """Microseconds a request, by kind of thread, summed over the workers seen at both ends."""
    total: dict[str, float] = {}
    for pid in before.keys() & after.keys():
        for kind in before[pid].keys() & after[pid].keys():
            total[kind] = total.get(kind, 0.0) + after[pid][kind] - before[pid][kind]
    return {kind: 1e6 * seconds / max(1, requests) for kind, seconds in sorted(total.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--source", type=Path, default=ROOT, help="a directory with Tandem's code (a worktree)")
    parser.add_argument("--bare", action="store_true", help="measure benchmarks/bare_server.py instead")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-ingest-threads-"))
    site, out = work / "site", work / "figures"
    site.mkdir()
    out.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    # A file for each round, as bench_ingest sends: a request sent again is a duplicate, which costs less.
    files = [work / f"requests-{number}.tsv" for number in range(options.rounds + 1)]
    for number, path in enumerate(files):
        Payloads().write(path, 8000 * options.duration, f"threads{number}")
    (work / "webhooks.lua").write_text(LUA)
    load = Wrk(32, 2, work / "webhooks.lua")
    source = options.source.resolve()
    command = [sys.executable, str(source / "benchmarks" / "bare_server.py")] if options.bare else [TANDEM, "serve"]

    with SlackStandin() as standin:
        standin.record_calls = False
        env = {**serve_env(standin.base_url), "TANDEM_DATABASE_URL": f"sqlite:///{work / 'tandem.db'}"}
        subprocess.run([TANDEM, "db", "upgrade"], env={**env, "PYTHONPATH": str(source)}, check=True)
        env = {**env, "PYTHONPATH": f"{source}:{site}", "TANDEM_THREADS_OUT": str(out), "TANDEM_PORT": str(PORT)}
        with open(work / "serve.log", "wb") as log:
            process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=log)
            try:
                wait_ready(PORT, process)
                load.run(f"http://127.0.0.1:{PORT}/", files[0], 2)  # the warm-up
                for number in range(1, options.rounds + 1):
                    before = snapshot(out)
                    result = load.run(f"http://127.0.0.1:{PORT}/", files[number], options.duration)
                    figures = spent(before, snapshot(out), result["requests"])
                    listed = ", ".join(
                        f"{LABELS.get(kind, kind)} {value:.1f}" for kind, value in figures.items() if kind in LABELS
                    )
                    print(f"round {number}: {result['rps']:.0f} req/s; us a request: {listed}", flush=True)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    print(f"the server's log: {work / 'serve.log'}")


if __name__ == "__main__":
    main()
