"""Rendering the digest's trend chart (target: under 200 ms per team on the 2-core production machine).

Renders --charts charts of 12 weeks with deterministic, varied data (gaps, single weeks, teams with no
data yet, so the mix matches a real digest run), one after another in this process, as the digest job
does. The first render is reported apart: it pays once per process for loading fonts and building the
thread's figure. Wall time is what the digest waits; CPU time (this thread's) is the chart's own cost, and
the gap between them is other processes' load, so the load average is printed too. --out keeps the first
ten PNGs to look at.

Run:  .venv/bin/python benchmarks/bench_chart.py [--charts 200] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from jobs.chart import render_trend_chart

TARGET_MS = 200
WEEKS = 12
LAST_MONDAY = date(2026, 11, 16)


def team_series(rng: random.Random) -> tuple[list[float | None], list[float | None]]:
    """Engagement and CSAT of one team: most have both with a few gaps, some are new or have no helpdesk."""
    kind = rng.random()
    if kind < 0.05:  # a team with nothing yet
        return [None] * WEEKS, [None] * WEEKS
    if kind < 0.10:  # a team whose first pulse was last week, and no helpdesk
        return [None] * (WEEKS - 1) + [rng.uniform(30, 90)], [None] * WEEKS

    def walk(start: float, spread: float, gap: float) -> list[float | None]:
        value, out = start, []
        for _ in range(WEEKS):
            value = min(100.0, max(0.0, value + rng.gauss(0, spread)))
            out.append(None if rng.random() < gap else round(value, 1))
        return out

    csat = walk(rng.uniform(60, 95), 4, 0.1) if kind < 0.8 else [None] * WEEKS
    return walk(rng.uniform(40, 85), 5, 0.15), csat


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charts", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write the first ten charts here as PNG files")
    options = parser.parse_args()

    rng = random.Random(20261122)
    weeks = [LAST_MONDAY - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS)]
    teams = [(f"Team {n}: engagement and CSAT, last {WEEKS} weeks", *team_series(rng)) for n in range(options.charts)]
    if options.out:
        options.out.mkdir(parents=True, exist_ok=True)

    wall: list[float] = []
    cpu: list[float] = []
    sizes: list[int] = []
    cold_ms = 0.0
    for n, (title, engagement, csat) in enumerate([teams[0], *teams]):
        started, started_cpu = time.perf_counter(), time.thread_time()
        png = render_trend_chart(weeks, engagement, csat, title)
        elapsed, elapsed_cpu = (time.perf_counter() - started) * 1000, (time.thread_time() - started_cpu) * 1000
        if n == 0:  # the warm-up: the first chart of a process loads fonts and builds the figure
            cold_ms = elapsed
            continue
        wall.append(elapsed)
        cpu.append(elapsed_cpu)
        sizes.append(len(png))
        if options.out and n <= 10:
            (options.out / f"chart-{n:02d}.png").write_bytes(png)

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"charts       {len(wall)} (12 weeks each), PNG {statistics.mean(sizes) / 1024:.0f} KiB on average")
    print(f"first chart  {cold_ms:6.1f} ms (once per process and thread: fonts load, the figure is built)")
    for label, values in (("wall", wall), ("cpu", cpu)):
        print(
            f"{label:12} mean {statistics.mean(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
            f"   max {max(values):6.1f} ms"
        )
    print(f"load average {load} on {os.cpu_count()} CPUs")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    enough = len(wall) >= 200
    for label, values in (("wall", wall), ("cpu", cpu)):
        met = enough and max(values) < TARGET_MS
        print(f"target (200 charts, each under {TARGET_MS} ms {label}): {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
