"""`tandem demo`: all of Tandem on a fresh machine, with no Slack workspace and no network.

Seeds a synthetic organisation (jobs.demo_org) into a new SQLite database, runs the real weekly digest
job on it, and publishes into a folder instead of Slack: each team's message (the Block Kit that would be
posted) and chart are written there, and one HTML page shows every digest roughly as Slack would.
The job does not know the difference: it claims each (team, week), posts through its port, records the ts.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.blocks.digest import digest_message
from bot.blocks.preview_html import preview_page
from jobs.demo_org import DemoOrg, generate_org
from jobs.digest import Digest, previous_week
from jobs.digest_job import post_due_digests
from jobs.digest_text import digest_text
from jobs.notifier import Posted
from jobs.question_bank import load_default_bank
from storage.db import make_engine, make_session_factory
from storage.demo_seed import seed_org
from storage.migrate import upgrade

DEMO_SEED = 2026
PAGE = "index.html"


@dataclass
class FolderPublisher:
    """The digest job's port, writing into a folder: `<team>.json` (the message) and `<team>.png`."""

    folder: Path
    posted: list[tuple[Digest, dict[str, Any], str | None]] = field(default_factory=list)

    def publish(self, channel: str, digest: Digest, chart_png: bytes | None) -> Posted:
        message = digest_message(digest)
        stem = _file_stem(digest.team)
        (self.folder / f"{stem}.json").write_text(json.dumps(message, indent=2), encoding="utf-8")
        chart = None
        if chart_png is not None:
            chart = f"{stem}.png"
            (self.folder / chart).write_bytes(chart_png)
        self.posted.append((digest, message, chart))
        return Posted(channel, f"{datetime.now(UTC).timestamp():.6f}")

    def find(self, channel: str, digest: Digest, since: datetime) -> Posted | None:
        return None  # a demo run starts from an empty database: nothing was posted before


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    database: Path
    org: DemoOrg
    digests: list[Digest]


def run_demo(folder: Path, today: datetime, seed: int = DEMO_SEED) -> DemoResult:
    """Build the demo in `folder` (replacing an earlier demo there) and return what it made."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    database = folder / "tandem-demo.db"
    org = generate_org(seed, end_week_monday=previous_week(today.date()))
    # A day after the last week ended: Monday 9:00 has passed in every team's time zone, so the job finds
    # every team's digest of that week due, as it would on a real Tuesday.
    now = org.ends_at + timedelta(days=1)
    engine = make_engine(f"sqlite:///{database}")
    try:
        upgrade(engine)
        seed_org(engine, org, now)
        publisher = FolderPublisher(folder)
        post_due_digests(make_session_factory(engine), publisher, load_default_bank().driver_names, now)
    finally:
        engine.dispose()
    digests = sorted((posted[0] for posted in publisher.posted), key=lambda d: d.team)
    pages = sorted(((d.team, message, chart) for d, message, chart in publisher.posted), key=lambda p: p[0])
    title = f"Tandem demo: weekly digests for {digests[0].week if digests else 'no week'}"
    (folder / PAGE).write_text(preview_page(title, pages), encoding="utf-8")
    return DemoResult(folder, database, org, digests)


def demo_report(result: DemoResult) -> str:
    """What the terminal shows: every digest, then where the files are and what to look at."""
    story = result.org.story
    lines = [digest_text(digest) for digest in result.digests]
    lines.append(
        "\n".join(
            [
                "=" * 78,
                f"Tandem demo: {len(result.org.members)} people in {len(result.org.teams)} teams, "
                f"{result.org.weeks} weeks of pulses and helpdesk outcomes (synthetic).",
                f"The story: {story.summary}",
                f"Open {result.folder / PAGE} in a browser to see each digest as it looks in Slack.",
                f"Charts: {result.folder}/*.png   Database: {result.database}",
                f"Try: TANDEM_DATABASE_URL=sqlite:///{result.database} tandem digest --format json",
            ]
        )
    )
    return "\n\n".join(line for line in lines if line)


def _file_stem(team: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"
