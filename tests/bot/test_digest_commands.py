"""Admins choose when each team's weekly digest is posted, with /pulse, through the real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from jobs.digest_job import digest_week_due
from storage.digests import digest_teams
from storage.models import AuditEntry
from tests.admin_world import AdminWorld, admin_world
from tests.slack_standin import SlackStandin

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> Iterator[AdminWorld]:
    standin.add_channel("C0SUPPORT1", "support-leads", [])
    with admin_world(engine, standin, MONDAY) as running:
        running.slash("team create Support")
        running.slash("team channel Support <#C0SUPPORT1|support-leads>")
        yield running


def test_an_admin_moves_a_teams_digest_to_friday_afternoon(world: AdminWorld) -> None:
    answer = world.slash("team digest Support fri 4:30pm")
    assert "*Support*'s digest of each past week goes to <#C0SUPPORT1> on Fridays at 16:30" in answer
    assert "on Fridays at 16:30" in world.slash("team show Support")
    assert world.count(AuditEntry, AuditEntry.action == "team.digest") == 1

    with world.factory() as session:
        (team,) = digest_teams(session)
    assert (team.weekday, team.minute) == (5, 16 * 60 + 30)
    # No digest before Friday 16:30 (UTC: nobody in the team has a time zone yet), last week's from then on.
    assert digest_week_due(team.weekday, team.minute, team.tz, datetime(2026, 11, 27, 16, 29, tzinfo=UTC)) is None
    due = digest_week_due(team.weekday, team.minute, team.tz, datetime(2026, 11, 27, 16, 30, tzinfo=UTC))
    assert due == date(2026, 11, 16)


def test_a_team_keeps_monday_nine_until_told_otherwise(world: AdminWorld) -> None:
    assert "on Mondays at 09:00" in world.slash("team show Support")


def test_a_day_that_is_not_a_day_gets_the_reason_and_the_usage(world: AdminWorld) -> None:
    answer = world.slash("team digest Support someday 09:00")
    assert "`someday` is not a day of the week" in answer
    assert "/pulse team digest NAME DAY HH:MM" in answer
    assert "on Mondays at 09:00" in world.slash("team show Support")


def test_someone_who_is_not_an_admin_cannot_move_the_digest(world: AdminWorld) -> None:
    assert "Only Tandem admins" in world.slash("team digest Support fri 16:00", user="U00000003")
    assert "on Mondays at 09:00" in world.slash("team show Support")
