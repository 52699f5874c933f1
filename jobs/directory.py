"""Use case: bring the member directory in line with the workspace's user list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs.members import member_from_slack
from storage.db import SessionFactory, transaction
from storage.members import upsert_members

ProgressCallback = Callable[[int, int], None]


@dataclass
class SyncReport:
    seen: int = 0
    created: int = 0
    updated: int = 0
    skipped_bots: int = 0
    inactive: int = 0

    def summary(self) -> str:
        return (
            f"{self.seen:,} Slack users seen: {self.created:,} new, {self.updated:,} updated, "
            f"{self.inactive:,} deleted in Slack (kept as inactive), {self.skipped_bots:,} bots skipped"
        )


def sync_directory(
    pages: Iterable[list[dict[str, Any]]],
    factory: SessionFactory,
    now: datetime,
    on_progress: ProgressCallback | None = None,
) -> SyncReport:
    """Store every human in `pages` (users.list pages), one transaction per page.

    Per-page commits mean a rate-limit stall or a crash half-way keeps the pages already done, and
    re-running converges: the sync is idempotent.
    """
    report = SyncReport()
    for page_number, users in enumerate(pages, start=1):
        records = [r for r in map(member_from_slack, users) if r is not None]
        report.seen += len(users)
        report.skipped_bots += len(users) - len(records)
        report.inactive += sum(1 for r in records if not r.active)
        with transaction(factory) as session:
            created, updated = upsert_members(session, records, now)
        report.created += created
        report.updated += updated
        if on_progress is not None:
            on_progress(page_number, report.seen)
    return report
