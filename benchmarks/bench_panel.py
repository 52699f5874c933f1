"""Issue 6 speed: the team-week panel and every team's digest content, against a plain full read.

For each size (1,000 / 3,000 / 10,000 members: 100 teams and 52 weeks per 1,000 members), builds a SQLite
database with benchmarks/seed_panel_data.py (or reuses one in --data-dir), then times, each in a fresh
process so peak memory (max RSS) is its own:
- digests: jobs.digest_build.week_digests for every team for the last week (SQL aggregates of the
  26 weeks it looks back on, the panel, anonymity, trends, the EX-CX link, the content of every digest);
- panel-52: the full 52-week published panel (what `tandem export` reads);
- full read: every answer and every helpdesk event row read into pandas (pd.read_sql), the naive design.
Targets (10,000 members): digests under 15 s and 2 GB peak; cost growing linearly with size.

Run:  .venv/bin/python benchmarks/bench_panel.py [--sizes 1000,3000,10000] [--data-dir /tmp/tandem-bench]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEASURE = r"""
import json, sys, time
from datetime import date
sys.path.insert(0, {root!r})
from sqlalchemy import text
from storage.db import make_engine, make_session_factory
from storage.panel_data import week_monday
kind, url = {kind!r}, {url!r}
engine = make_engine(url)
factory = make_session_factory(engine)
with factory() as session:
    last = session.execute(text("select max(opened_on) from pulse_rounds")).scalar()
last = week_monday(date.fromisoformat(str(last)))
started = time.perf_counter()
with factory() as session:
    if kind == "digests":
        from jobs.digest_build import week_digests
        from jobs.question_bank import load_default_bank
        count = len(week_digests(session, last, load_default_bank().driver_names))
    elif kind == "panel-52":
        from jobs.export import export_frame
        count = len(export_frame(session, last, 52))
    else:
        import pandas as pd
        connection = session.connection()
        answers = pd.read_sql("select * from answers", connection)
        events = pd.read_sql("select * from helpdesk_events", connection)
        count = len(answers) + len(events)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
peak_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb, "rows": count}}))
"""


def measure(kind: str, database: Path) -> dict[str, float]:
    code = MEASURE.format(root=str(ROOT), kind=kind, url=f"sqlite:///{database}")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def database_for(members: int, data_dir: Path) -> Path:
    from benchmarks.seed_panel_data import build_database

    path = data_dir / f"panel-{members}.db"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"seeding {members:,} members into {path} …", flush=True)
        _org, report, timings = build_database(path, members)
        print(f"  seeded in {sum(timings.values()):.0f} s: {report}", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000", help="member counts, comma-separated")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/tandem-bench"), help="where databases are kept")
    parser.add_argument("--skip-full-read", action="store_true", help="skip the plain full read")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"command: .venv/bin/python benchmarks/bench_panel.py {shlex.join(argv or sys.argv[1:])}".rstrip())
    rows = []
    for members in sizes:
        database = database_for(members, args.data_dir)
        kinds = ["digests", "panel-52"] + ([] if args.skip_full_read else ["full read"])
        for kind in kinds:
            figures = measure(kind, database)
            rows.append((members, kind, figures))
            print(
                f"{members:>6,} members  {kind:<10} {figures['seconds']:7.2f} s  peak {figures['peak_mb']:6.0f} MB"
                f"  ({int(figures['rows']):,} rows out)",
                flush=True,
            )
    base = {kind: figures["seconds"] / members for members, kind, figures in rows if members == sizes[0]}
    print("\ncost per member relative to the smallest size (1.0 = linear):")
    for members, kind, figures in rows:
        print(f"{members:>6,} members  {kind:<10} {figures['seconds'] / members / base[kind]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
