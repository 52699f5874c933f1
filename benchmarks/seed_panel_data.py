"""Build a SQLite database holding a year of a synthetic organisation, for the panel benchmarks.

Generates `jobs.demo_org.benchmark_org(members)` (presets 1,000 / 3,000 / 10,000 members: 100 teams and
52 weeks per 1,000 members, ~120,000 answers and ~550,000 helpdesk events per 1,000 members), migrates a
new database file at PATH and seeds it with `storage.demo_seed.seed_org`, printing the time of each step
and the rows per table. Other benchmarks reuse the file (or call `build_database`).

Run:  .venv/bin/python benchmarks/seed_panel_data.py PATH [--members 10000] [--seed 2026]
          [--end-week 2026-11-16] [--replace]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs.demo_org import BENCHMARK_SEED, DemoOrg, benchmark_org  # noqa: E402
from jobs.digest import previous_week  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.demo_seed import SeedReport, seed_org  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def build_database(
    path: Path, members: int, seed: int = BENCHMARK_SEED, end_week: date | None = None, replace: bool = False
) -> tuple[DemoOrg, SeedReport, dict[str, float]]:
    """Create the database file at `path`; returns the organisation, the seed report and step timings."""
    if path.exists():
        if not replace:
            raise FileExistsError(f"{path} exists (pass replace=True / --replace to rebuild it)")
        for stale in (
            path,
            *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", ".writer.lock", ".migrations.lock")),
        ):
            stale.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    org = benchmark_org(members, seed=seed, end_week_monday=end_week or previous_week(datetime.now(UTC).date()))
    timings["generate"] = time.perf_counter() - started
    engine = make_engine(f"sqlite:///{path}")
    try:
        started = time.perf_counter()
        upgrade(engine)
        timings["migrate"] = time.perf_counter() - started
        started = time.perf_counter()
        report = seed_org(engine, org, max(datetime.now(UTC), org.ends_at))
        timings["seed"] = time.perf_counter() - started
    finally:
        engine.dispose()
    return org, report, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the SQLite database file to create")
    parser.add_argument("--members", type=int, default=10_000, help="organisation size (presets 1000, 3000, 10000)")
    parser.add_argument("--seed", type=int, default=BENCHMARK_SEED)
    parser.add_argument("--end-week", type=date.fromisoformat, help="Monday of the last week (default: last full week)")
    parser.add_argument("--replace", action="store_true", help="delete an existing database file first")
    args = parser.parse_args(argv)
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    print("command:", shlex.join([str(shown), *sys.argv]))
    org, report, timings = build_database(args.path, args.members, args.seed, args.end_week, args.replace)
    print(f"organisation: {args.members:,} members, {len(org.teams):,} teams, {org.weeks} weeks to {org.last_week}")
    print(f"story: {org.story.summary}")
    print(report)
    size = sum(p.stat().st_size for p in args.path.parent.glob(args.path.name + "*") if p.is_file())
    print(f"database: {args.path} ({size / 1e6:,.0f} MB)")
    rows = report.total_rows
    for step, seconds in timings.items():
        print(f"{step:<10} {seconds:8.2f} s")
    print(f"{'total':<10} {sum(timings.values()):8.2f} s ({rows / timings['seed']:,.0f} rows/s seeded)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
