"""Use cases: teams whose membership follows a Slack user group or channel, and the digest channels' health.

Slack is read first, outside any transaction; then each team's membership changes in one transaction,
as a diff against what the database holds, so a channel of 5,000 people costs a few queries, not 5,000.
People the directory does not know yet are looked up one by one (users.info) and stored on the way.
Bots never become members, and neither do people deleted from the workspace.

Jobs reach Slack only through the `SlackMembership` port; `bot.slack_membership` implements it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from jobs.membership import ChannelCheck, LinkSourceMissing, MembershipUnavailable, SlackMembership, look_up_unknown
from storage.db import SessionFactory, transaction
from storage.members import upsert_members
from storage.team_links import (
    add_members_to_teams,
    digest_channels,
    directory_users,
    linked_teams,
    remove_members_from_teams,
    replace_team_members,
    set_channel_ok,
    set_source_synced,
    team_follows,
    teams_following,
)

log = logging.getLogger(__name__)

USERGROUP = "usergroup"
CHANNEL = "channel"
LINK_KINDS = (USERGROUP, CHANNEL)
# users.info calls one sync may make for people the directory does not know yet (Tier 4, about 100 a
# minute). The daily directory sync runs first, so normally there are a handful; a workspace that was
# never synced gets the rest on the next run, after that night's directory sync.
LOOKUP_LIMIT = 300


# -- reports --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinkSyncReport:
    team_id: int
    team: str
    source: str  # "usergroup S0…" or "channel C0…"
    added: int = 0
    removed: int = 0
    fetched: int = 0  # people the directory did not know, looked up with users.info
    problem: str = ""  # why the team was not synced; "" when it was

    @property
    def ok(self) -> bool:
        return not self.problem


def links_summary(reports: Sequence[LinkSyncReport]) -> str:
    synced = [r for r in reports if r.ok]
    failed = [r for r in reports if not r.ok]
    line = (
        f"{len(synced)} linked teams synced: +{sum(r.added for r in synced)} -{sum(r.removed for r in synced)} "
        f"members, {sum(r.fetched for r in synced)} new people looked up"
    )
    if failed:
        line += f"; {len(failed)} not synced: " + "; ".join(f"{r.team}: {r.problem}" for r in failed)
    return line


@dataclass
class ChannelsReport:
    checks: dict[str, ChannelCheck] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)  # channel -> why Slack gave no answer

    def summary(self) -> str:
        bad = [c for c in self.checks.values() if not c.ok]
        line = f"{len(self.checks) - len(bad)} digest channels ok, {len(bad)} not"
        if self.unchecked:
            line += f", {len(self.unchecked)} not checked ({next(iter(self.unchecked.values()))})"
        return line


# -- daily sync -----------------------------------------------------------------------------------
def sync_linked_team(
    factory: SessionFactory, slack: SlackMembership, team_id: int, now: datetime, *, lookup_limit: int = LOOKUP_LIMIT
) -> LinkSyncReport:
    """Make the team's members exactly the humans of its user group or channel.

    Raises LinkSourceMissing when the source is gone (the membership is left as it was),
    MembershipUnavailable when Slack cannot answer, ValueError when the team follows nothing.
    """
    with factory() as session:
        team = next((t for t in linked_teams(session) if t.id == team_id), None)
        if team is None:
            raise ValueError(f"team {team_id} does not follow a user group or a channel")
        kind, source_id, name = team.source_kind, team.source_id or "", team.name
    user_ids = source_members(slack, kind, source_id)
    (report,) = _apply_source(factory, slack, [(team_id, name)], kind, source_id, user_ids, now, lookup_limit)
    return report


def sync_linked_teams(
    factory: SessionFactory, slack: SlackMembership, now: datetime, *, lookup_limit: int = LOOKUP_LIMIT
) -> list[LinkSyncReport]:
    """Sync every linked team, one transaction each. A team whose source fails is reported; the rest go on.

    Teams following the same source share one read of it.
    """
    with factory() as session:
        teams = [(t.id, t.name, t.source_kind, t.source_id or "") for t in linked_teams(session)]
    sources: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for team_id, name, kind, source_id in teams:
        sources.setdefault((kind, source_id), []).append((team_id, name))
    reports: list[LinkSyncReport] = []
    for (kind, source_id), following in sources.items():
        source = f"{kind} {source_id}"
        try:
            user_ids = source_members(slack, kind, source_id)
            reports += _apply_source(factory, slack, following, kind, source_id, user_ids, now, lookup_limit)
        except LinkSourceMissing as error:
            log.warning("%s, followed by %s, is missing: %s", source, ", ".join(n for _, n in following), error)
            reports += [LinkSyncReport(t, n, source, problem=str(error)) for t, n in following]
        except Exception as error:  # one source failing must not stop the others
            log.exception("could not sync the teams following %s", source)
            problem = f"{error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            reports += [LinkSyncReport(t, n, source, problem=problem) for t, n in following]
    return sorted(reports, key=lambda r: r.team_id)


def source_members(slack: SlackMembership, kind: str, source_id: str) -> list[str]:
    if kind == USERGROUP:
        return slack.usergroup_members(source_id)
    if kind == CHANNEL:
        return slack.channel_members(source_id)
    raise ValueError(f"unknown membership source kind {kind!r}")


# -- events between syncs -------------------------------------------------------------------------
def follow_membership_change(
    factory: SessionFactory,
    slack: SlackMembership,
    kind: str,
    source_id: str,
    joined: Sequence[str],
    left: Sequence[str],
    now: datetime,
) -> tuple[int, int]:
    """People joined or left a user group or channel: the teams following it gain or lose them; (added, removed)."""
    with factory() as session:
        team_ids = teams_following(session, kind, source_id)
    if not team_ids or not (joined or left):
        return 0, 0
    records, _fetched = look_up_unknown(factory, slack, joined, LOOKUP_LIMIT)
    with transaction(factory) as session:
        if records:
            upsert_members(session, records, now)
        known = directory_users(session, [*joined, *left])
        joined_ids = [known[u].member_id for u in joined if u in known and known[u].can_join and u not in left]
        left_ids = [known[u].member_id for u in left if u in known]
        added = add_members_to_teams(session, team_ids, joined_ids)
        removed = remove_members_from_teams(session, team_ids, left_ids)
    return added, removed


def follow_source_snapshot(
    factory: SessionFactory, slack: SlackMembership, kind: str, source_id: str, user_ids: Sequence[str], now: datetime
) -> list[LinkSyncReport]:
    """An event carried the source's whole member list: every team following it gets exactly those people."""
    with factory() as session:
        following = [(t.id, t.name) for t in linked_teams(session) if (t.source_kind, t.source_id) == (kind, source_id)]
    if not following:
        return []
    return _apply_source(factory, slack, following, kind, source_id, user_ids, now, LOOKUP_LIMIT)


def resync_source(factory: SessionFactory, slack: SlackMembership, kind: str, source_id: str, now: datetime) -> None:
    """Read the source from Slack again and sync the teams following it (an event's list was cut short)."""
    with factory() as session:
        following = [(t.id, t.name) for t in linked_teams(session) if (t.source_kind, t.source_id) == (kind, source_id)]
    if following:
        user_ids = source_members(slack, kind, source_id)
        _apply_source(factory, slack, following, kind, source_id, user_ids, now, LOOKUP_LIMIT)


def record_channel_ok(factory: SessionFactory, channel_id: str, ok: bool) -> int:
    """Tandem joined or left a channel: teams whose digest goes there learn whether it can post; teams changed."""
    with transaction(factory) as session:
        return set_channel_ok(session, channel_id, ok)


# -- digest channels ------------------------------------------------------------------------------
def recheck_channels(factory: SessionFactory, slack: SlackMembership, now: datetime) -> ChannelsReport:
    """Ask Slack about every digest channel and record whether Tandem can post there.

    A channel Slack gives no answer for keeps its last known state.
    """
    with factory() as session:
        channels = digest_channels(session)
    report = ChannelsReport()
    for channel_id in channels:
        try:
            check = slack.channel_check(channel_id)
        except MembershipUnavailable as error:
            log.warning("could not check digest channel %s at %s: %s", channel_id, now.isoformat(), error)
            report.unchecked[channel_id] = str(error)
            continue
        report.checks[channel_id] = check
        with transaction(factory) as session:
            set_channel_ok(session, channel_id, check.ok)
    return report


# -- shared ---------------------------------------------------------------------------------------
def _apply_source(
    factory: SessionFactory,
    slack: SlackMembership,
    following: Sequence[tuple[int, str]],
    kind: str,
    source_id: str,
    user_ids: Sequence[str],
    now: datetime,
    lookup_limit: int,
) -> list[LinkSyncReport]:
    """Each team in `following` gets exactly the humans among `user_ids`, in a transaction of its own."""
    records, fetched = look_up_unknown(factory, slack, user_ids, lookup_limit)
    source = f"{kind} {source_id}"
    reports = []
    for index, (team_id, name) in enumerate(following):
        with transaction(factory) as session:
            if index == 0 and records:
                upsert_members(session, records, now)
            # The team may have been unlinked or relinked while Slack was being read.
            if not team_follows(session, team_id, kind, source_id):
                reports.append(LinkSyncReport(team_id, name, source, problem="no longer follows this source"))
                continue
            known = directory_users(session, user_ids)
            member_ids = [entry.member_id for entry in known.values() if entry.can_join]
            added, removed = replace_team_members(session, team_id, member_ids)
            set_source_synced(session, team_id, now)
        reports.append(LinkSyncReport(team_id, name, source, added, removed, fetched if index == 0 else 0))
    return reports
