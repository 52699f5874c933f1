"""`tandem import tickets` of a 1,000,000-row ticket export (target: under 60 s, with bounded memory).

Generates a deterministic export in a temporary directory (90% of tickets solved, 8% reopened, 25% rated:
about 1.2 events per row), migrates a fresh database (not timed), then runs the real console script
twice: the first import stores every event, the second stores none (idempotence). Each run's wall time
and peak RSS (from wait4, for that process alone) are printed. Peak RSS must stay flat as --rows grows:
the file is streamed in batches, never held.

Run:  .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--database-url URL] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

TANDEM = str(Path(sys.executable).with_name("tandem"))
TARGET_SECONDS = 60
MAX_RSS_MB = 200
HEADER = [
    "ticket_id",
    "created_at",
    "solved_at",
    "reopened_at",
    "first_response_seconds",
    "agent_email",
    "agent_id",
    "group",
    "satisfaction",
    "rated_at",
]


def generate(path: Path, rows: int, seed: int = 20261122) -> int:
    """Write the export; returns how many events it describes."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    groups = ["Support", "Billing", "Onboarding", "Tier 2", "VIP"]
    events = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            created = start + timedelta(seconds=n * 30 + rng.randrange(30))
            solved = created + timedelta(seconds=rng.randrange(600, 200_000)) if rng.random() < 0.9 else None
            reopened = solved + timedelta(hours=rng.randrange(1, 48)) if solved and rng.random() < 0.08 else None
            rating = rng.choice(["good", "good", "bad", "1", "3", "4", "5"]) if solved and rng.random() < 0.25 else ""
            agent = rng.randrange(200)
            events += (solved is not None) + (reopened is not None) + bool(rating)
            writer.writerow(
                [
                    100_000 + n,
                    created.strftime("%Y-%m-%dT%H:%M:%SZ"),  # both time forms a helpdesk writes
                    solved.strftime("%Y-%m-%d %H:%M:%S") if solved else "",
                    reopened.isoformat() if reopened else "",
                    rng.randrange(30, 7200),
                    f"agent{agent}@example.com",
                    9000 + agent,
                    groups[agent % len(groups)],
                    rating,
                    "",
                ]
            )
    return events


def run(args: list[str], work: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of that process, stdout) of one `tandem` run."""
    with open(work / "stdout", "w+") as out, open(work / "stderr", "w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([TANDEM, *args], cwd=work, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().strip(), err.read().strip()
    if process.returncode != 0:
        raise SystemExit(f"tandem {' '.join(args)} failed ({process.returncode}): {stderr}")
    return elapsed, usage.ru_maxrss / 1024, stdout  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file; PostgreSQL: a new schema")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (CSV and SQLite file)")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-import-bench-"))
    url, schema = options.database_url or f"sqlite:///{work / 'tandem.db'}", ""
    if options.database_url:  # a schema of its own, dropped afterwards (as tests/conftest.py does)
        schema = f"bench_import_{uuid.uuid4().hex[:8]}"
        with create_engine(options.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    env = {"PATH": os.environ["PATH"], "TANDEM_DATABASE_URL": url, "TANDEM_LOG_LEVEL": "WARNING"}
    try:
        started = time.perf_counter()
        events = generate(work / "tickets.csv", options.rows)
        size_mb = (work / "tickets.csv").stat().st_size / 1e6
        generated = time.perf_counter() - started
        print(
            f"export       {options.rows:,} rows, {events:,} events, {size_mb:.0f} MB (generated in {generated:.1f} s)"
        )
        run(["db", "upgrade"], work, env)
        timings = []
        for label in ("first import", "re-import"):
            elapsed, rss, stdout = run(["import", "tickets", "tickets.csv"], work, env)
            timings.append((elapsed, rss))
            print(
                f"{label:12} {elapsed:6.1f} s  {options.rows / elapsed:9,.0f} rows/s  peak RSS {rss:5.0f} MB   {stdout}"
            )
    finally:
        if schema:
            with create_engine(options.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    backend = "PostgreSQL" if options.database_url else "SQLite"
    print(f"database: {backend}; command: {shlex.join([sys.executable, *sys.argv])}")
    met = all(s < TARGET_SECONDS and rss < MAX_RSS_MB for s, rss in timings) and options.rows >= 1_000_000
    target = f"target (1,000,000 rows in under {TARGET_SECONDS} s, peak RSS under {MAX_RSS_MB} MB)"
    print(f"{target}: {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
