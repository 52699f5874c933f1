"""Two versions of `tandem serve` loaded at the same time, side by side: which spends less CPU a webhook.

On this kind of machine (2 shared cores) the same server measured a minute apart varies by 20% or more,
so two versions measured one after the other, even in interleaved rounds (benchmarks/serving.py), cannot
tell a 5% change from drift. Here both run at once, each sent bench_ingest's webhooks by a wrk of its own,
so each round both meet the same machine. Their throughputs are not comparable (the two compete for the
cores, and one may take the larger share for a whole round), but the CPU each spends a webhook is: its
processes' CPU time over the requests it answered. The figure is B's CPU a webhook over A's, round by
round, and the median of the rounds. A caveat: the version that got the smaller share in a round spends
more a webhook (its fixed costs, its storer's smaller batches, spread over fewer), so single rounds swing
both ways; only the median of many says something.

Calibrated on 2026-11-23: one version against itself (A/A), 6 rounds of 6 s, measured B/A 0.87-1.11, median
0.99; the request log line switched off entirely measured 0.94 (12 rounds of 5 s).

A version is a directory with Tandem's code in it (a `git worktree add /tmp/v1 <commit>`, say), run with
that directory first on PYTHONPATH by this checkout's virtual environment.

Run:  .venv/bin/python benchmarks/compare_ingest.py A_DIR B_DIR [--rounds 12] [--duration 5]
                                                     [--a-env NAME=VALUE ...] [--b-env NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import LUA, TANDEM, DeliveryCounter, Payloads, serve_env  # noqa: E402
from benchmarks.serving import Server, Wrk, cpu_seconds, running_all  # noqa: E402
from tests.slack_standin import SlackStandin  # noqa: E402

PORT = 3950
VERSIONS = ("A", "B")


def pairs(values: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) for value in values)


def load_both(load: Wrk, servers: list[Server], files: dict[str, Path], duration: int) -> dict[str, dict[str, Any]]:
    """wrk's figures for each server, both sent their requests at the same time."""
    results: dict[str, dict[str, Any]] = {}

    def send(server: Server) -> None:
        results[server.name] = load.run(f"http://127.0.0.1:{server.port}/", files[server.name], duration)

    senders = [threading.Thread(target=send, args=(server,)) for server in servers]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a_dir", type=Path)
    parser.add_argument("b_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load a round")
    parser.add_argument("--connections", type=int, default=16, help="senders to each version")
    parser.add_argument("--a-env", nargs="*", default=[], help="NAME=VALUE settings for A only")
    parser.add_argument("--b-env", nargs="*", default=[], help="NAME=VALUE settings for B only")
    options = parser.parse_args()
    directories = dict(zip(VERSIONS, (options.a_dir.resolve(), options.b_dir.resolve()), strict=True))
    extra = dict(zip(VERSIONS, (pairs(options.a_env), pairs(options.b_env)), strict=True))

    work = Path(tempfile.mkdtemp(prefix="tandem-compare-ingest-"))
    payloads = Payloads()
    files = {(n, v): work / f"requests-{n}-{v}.tsv" for n in range(options.rounds) for v in VERSIONS}
    for (n, v), path in files.items():
        payloads.write(path, 6000 * options.duration, f"round{n}{v}")
    warmup = work / "warmup.tsv"
    payloads.write(warmup, 3000, "warm")
    script = work / "webhooks.lua"
    script.write_text(LUA)
    load = Wrk(options.connections, 1, script)

    cpu_ratios: list[float] = []
    with SlackStandin() as standin:
        standin.record_calls = False
        servers, counters = [], {}
        for n, version in enumerate(VERSIONS):
            url = f"sqlite:///{work / f'{version}.db'}"
            env = {
                **serve_env(standin.base_url),
                "PYTHONPATH": str(directories[version]),
                "TANDEM_DATABASE_URL": url,
                **extra[version],
            }
            servers.append(Server(version, [TANDEM, "serve"], env, PORT + n, work / f"{version}.log"))
            counters[version] = DeliveryCounter(url)
        with running_all(servers) as processes:
            for server in servers:
                load.run(f"http://127.0.0.1:{server.port}/", warmup, 2)
            time.sleep(2)
            for number in range(options.rounds):
                written = {v: counters[v].deliveries() for v in VERSIONS}
                cpu = {v: cpu_seconds(processes[v].pid) for v in VERSIONS}
                results = load_both(load, servers, {v: files[number, v] for v in VERSIONS}, options.duration)
                cells = []
                per_webhook = {}
                for v in VERSIONS:
                    spent = cpu_seconds(processes[v].pid) - cpu[v]
                    per_webhook[v] = 1000 * spent / max(1, results[v]["requests"])
                    rate = (counters[v].deliveries() - written[v]) / options.duration
                    cells.append(
                        f"{v} {results[v]['rps']:5.0f} answered/s {rate:5.0f} written/s {per_webhook[v]:.3f} ms CPU"
                    )
                cpu_ratios.append(per_webhook["B"] / per_webhook["A"])
                print(f"round {number}: " + " | ".join(cells) + f" | B/A CPU {cpu_ratios[-1]:.3f}", flush=True)
                time.sleep(1.5)  # what each still writes in after its load is not charged to the next round

    print(f"A: {directories['A']} {extra['A'] or ''}")
    print(f"B: {directories['B']} {extra['B'] or ''}")
    print(
        "B/A CPU a webhook, rounds sorted: "
        + " ".join(f"{r:.2f}" for r in sorted(cpu_ratios))
        + f"; median {statistics.median(cpu_ratios):.3f}"
    )


if __name__ == "__main__":
    main()
