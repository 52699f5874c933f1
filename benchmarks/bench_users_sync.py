"""`tandem users sync` of 20,000 users against the local Slack Web API stand-in (target: under 30 s).

Runs the real console script in a subprocess against a fresh database, twice: the first sync stores
everyone, the second finds nothing to change (idempotence). Optionally injects 429s with Retry-After.

Run:  .venv/bin/python benchmarks/bench_users_sync.py [--users 20000] [--database-url URL] [--rate-limits 0]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user, slackbot  # noqa: E402

TANDEM = str(Path(sys.executable).with_name("tandem"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--rate-limits", type=int, default=0, help="429 answers (Retry-After: 1) to inject")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tandem-sync-bench-"))
    users = [slackbot(), *(make_user(i, deleted=i % 97 == 0, bot=i % 211 == 0) for i in range(options.users))]
    with SlackStandin(users) as standin:
        standin.rate_limit("users.list", retry_after=1, times=options.rate_limits)
        env = {
            "PATH": os.environ["PATH"],
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "TANDEM_SLACK_API_URL": standin.base_url,
            "TANDEM_DATABASE_URL": options.database_url or f"sqlite:///{work / 'tandem.db'}",
        }
        timings = []
        for run in ("first sync", "second sync"):
            started = time.perf_counter()
            result = subprocess.run([TANDEM, "users", "sync"], cwd=work, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"{run} failed ({result.returncode}): {result.stderr.strip()}")
            timings.append(elapsed)
            print(f"{run:12} {elapsed:6.2f} s   {result.stdout.strip()}")
        pages = len(standin.calls_to("users.list"))
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"users.list calls over both runs: {pages} (including {options.rate_limits} rate-limited)")
    print("target (20,000 users in under 30 s):", "MET" if max(timings) < 30 and options.users >= 20_000 else "NOT MET")


if __name__ == "__main__":
    main()
