"""The weekly digest job: each team's digest of last week, posted once on its digest day.

Runs every scheduler tick and asks the database what is due: a team whose local digest time has come this
week and whose digest of last week nobody has claimed. The claim is the (team, week) row; a post that
crashed half-way is looked for in the channel before it is tried again, so a digest is never doubled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

from jobs.chart import render_trend_chart
from jobs.digest import Digest
from jobs.digest_build import week_digests
from jobs.notifier import Posted, RateLimited, SendFailed
from jobs.pulse_schedule import member_zone
from storage.db import SessionFactory, transaction
from storage.digests import DigestTeam, claim_digest, digest_claims, digest_teams, reclaim_digest, record_digest

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=10)  # a failed post (Slack down, rate limited) is tried again after this
STALE_AFTER = timedelta(minutes=10)  # a claim still "posting" after this belonged to a process that died


class DigestPublisher(Protocol):
    """Posts a digest where it belongs; implemented in bot (Block Kit + files upload)."""

    def publish(self, channel: str, digest: Digest, chart_png: bytes | None) -> Posted: ...

    def find(self, channel: str, digest: Digest, since: datetime) -> Posted | None:
        """The digest's message if it was posted after `since` (to settle a post that crashed)."""
        ...


@dataclass
class DigestReport:
    posted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"digests: {len(self.posted)} posted, {len(self.failed)} failed"


def digest_week_due(weekday: int, minute: int, tz: str, now: datetime) -> date | None:
    """Monday of the week whose digest is due at `now` (the week before the current one) once the team's
    local digest time has come this week; None before it."""
    local = now.astimezone(member_zone(tz))
    monday = local.date() - timedelta(days=local.weekday())
    slot = datetime.combine(monday + timedelta(days=weekday - 1), time(minute // 60, minute % 60), local.tzinfo)
    return monday - timedelta(days=7) if local >= slot else None


def chart_png(digest: Digest) -> bytes:
    return render_trend_chart(
        digest.chart_weeks, digest.chart_engagement, digest.chart_csat, f"{digest.team}: last 12 weeks"
    )


def post_due_digests(
    factory: SessionFactory,
    publisher: DigestPublisher,
    driver_names: Mapping[str, str],
    now: datetime,
    chart: Callable[[Digest], bytes | None] = chart_png,
) -> DigestReport:
    """Claim and post every digest that is due; safe to run from several processes at once."""
    with factory() as session:
        teams = digest_teams(session)
    due: dict[date, list[DigestTeam]] = {}
    for team in teams:
        if team.channel_id and (week := digest_week_due(team.weekday, team.minute, team.tz, now)):
            due.setdefault(week, []).append(team)
    report = DigestReport()
    for week, wanted in due.items():
        claimed = claim_digests(factory, wanted, week, now)
        if claimed:
            with factory() as session:
                digests = week_digests(session, week, driver_names, list(claimed))
            post_claimed(factory, publisher, digests, claimed, now, chart, report)
    return report


def claim_digests(
    factory: SessionFactory, teams: list[DigestTeam], week: date, now: datetime
) -> dict[int, tuple[DigestTeam, datetime | None]]:
    """Claim each team's digest of `week`: the claimed teams, each with the time from which to look for
    a post that a dead process may have made (None: nobody tried before). Posted ones are left alone."""
    with factory() as session:
        claims = digest_claims(session, [week])
    claimed: dict[int, tuple[DigestTeam, datetime | None]] = {}
    for team in teams:
        claim = claims.get((team.team_id, week))
        with transaction(factory) as session:
            if claim is None:
                if claim_digest(session, team.team_id, week, team.channel_id or "", now):
                    claimed[team.team_id] = (team, None)
            elif _retryable(claim.status, claim.attempts, claim.claimed_at, now) and reclaim_digest(
                session, team.team_id, week, claim, now
            ):
                claimed[team.team_id] = (team, claim.claimed_at if claim.status == "posting" else None)
    return claimed


def post_claimed(
    factory: SessionFactory,
    publisher: DigestPublisher,
    digests: list[Digest],
    claimed: Mapping[int, tuple[DigestTeam, datetime | None]],
    now: datetime,
    chart: Callable[[Digest], bytes | None] = chart_png,
    report: DigestReport | None = None,
) -> DigestReport:
    report = report if report is not None else DigestReport()
    for digest in digests:
        team, look_since = claimed[digest.team_id]
        _post_one(factory, publisher, team, digest, look_since, now, chart, report)
    return report


def _retryable(status: str, attempts: int, claimed_at: datetime, now: datetime) -> bool:
    if status == "failed":
        return attempts < MAX_ATTEMPTS and claimed_at <= now - RETRY_AFTER
    return status == "posting" and claimed_at <= now - STALE_AFTER


def _post_one(
    factory: SessionFactory,
    publisher: DigestPublisher,
    team: DigestTeam,
    digest: Digest,
    look_since: datetime | None,
    now: datetime,
    chart: Callable[[Digest], bytes | None],
    report: DigestReport,
) -> None:
    channel = team.channel_id or ""
    week = digest.week_start
    try:
        posted = publisher.find(channel, digest, look_since) if look_since else None
        posted = posted or publisher.publish(channel, digest, chart(digest))
    except (SendFailed, RateLimited) as error:
        log.warning("digest of %s for %s not posted: %s", team.name, digest.week, error)
        with transaction(factory) as session:
            record_digest(session, team.team_id, week, "failed", now, error=str(error))
        report.failed.append(team.name)
        return
    with transaction(factory) as session:
        record_digest(session, team.team_id, week, "posted", now, channel_id=posted.channel, ts=posted.ts)
    report.posted.append(team.name)
