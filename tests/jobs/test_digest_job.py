"""The weekly digest job through the real Slack client and the stand-in: once per team and week, always."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from bot.digest_publisher import SlackDigestPublisher
from bot.settings import Secret, Settings
from bot.slack_client import make_web_client
from jobs.digest_job import MAX_ATTEMPTS, RETRY_AFTER, digest_week_due, post_due_digests
from storage.db import transaction
from storage.models import Team, TeamDigest
from tests.pulse_fixtures import BANK, PulseWorld, make_world, run_round
from tests.slack_standin import BOT_TOKEN, SlackStandin

START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # Tuesday of 2026-W45
MONDAY_AFTER = datetime(2026, 11, 16, 9, 5, tzinfo=UTC)  # 9:05 in London, Monday of W47: W46 is due
CHANNEL = "C0DIGEST01"


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    world = make_world(engine, standin, START)
    team = world.add_team("Support", first_user=1, size=6)
    with transaction(world.factory) as session:
        session.execute(update(Team).where(Team.id == team).values(channel_id=CHANNEL, channel_ok=True))
    for value in (4, 3):
        run_round(world, team, {f"U{i:08d}": value for i in range(1, 7)})
    return world


def publisher(standin: SlackStandin) -> SlackDigestPublisher:
    settings = Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url)
    return SlackDigestPublisher(make_web_client(settings, retry_rate_limits=False))


def run(world: PulseWorld, now: datetime) -> list[str]:
    return post_due_digests(world.factory, publisher(world.standin), BANK.driver_names, now).posted


def digest_posts(standin: SlackStandin) -> list[dict[str, object]]:
    return [call.body for call in standin.calls_to("chat.postMessage") if call.body.get("channel") == CHANNEL]


def stored(world: PulseWorld) -> list[TeamDigest]:
    with world.factory() as session:
        return list(session.scalars(select(TeamDigest)))


def test_it_posts_last_weeks_digest_with_its_chart_once_on_monday_morning(world: PulseWorld) -> None:
    assert run(world, MONDAY_AFTER - timedelta(minutes=10)) == []  # 8:55 local: not yet
    assert run(world, MONDAY_AFTER) == ["Support"]
    assert run(world, MONDAY_AFTER + timedelta(hours=3)) == []
    assert run(world, MONDAY_AFTER + timedelta(days=2)) == []

    (post,) = digest_posts(world.standin)
    assert "Support" in str(post["text"]) and "2026-W46" in str(post["text"])
    assert any(block.get("type") == "image" for block in post["blocks"])  # type: ignore[union-attr]
    assert world.standin.uploads  # the chart's bytes reached Slack
    (digest,) = stored(world)
    assert (digest.week, digest.status, digest.channel_id) == (date(2026, 11, 9), "posted", CHANNEL)
    assert digest.message_ts is not None


def test_two_processes_at_the_same_tick_post_one_digest(world: PulseWorld) -> None:
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(run(world, MONDAY_AFTER))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 0, 1]
    assert len(digest_posts(world.standin)) == 1


def test_a_post_that_crashed_before_its_ts_was_saved_is_found_not_doubled(world: PulseWorld) -> None:
    assert run(world, MONDAY_AFTER) == ["Support"]
    with transaction(world.factory) as session:  # as if the process died between posting and saving
        session.execute(update(TeamDigest).values(status="posting", message_ts=None, posted_at=None))
    assert run(world, MONDAY_AFTER + timedelta(minutes=20)) == ["Support"]
    assert len(digest_posts(world.standin)) == 1
    (digest,) = stored(world)
    assert digest.status == "posted" and digest.message_ts is not None


def test_a_channel_slack_refuses_is_retried_a_few_times_then_left_for_an_admin(world: PulseWorld) -> None:
    world.standin.fail("chat.postMessage", "not_in_channel", times=100)
    now = MONDAY_AFTER
    for _ in range(MAX_ATTEMPTS + 2):
        assert run(world, now) == []
        now += RETRY_AFTER
    (digest,) = stored(world)
    assert (digest.status, digest.attempts) == ("failed", MAX_ATTEMPTS)
    assert "not_in_channel" in (digest.error or "")


def test_teams_without_a_channel_or_paused_get_no_digest(world: PulseWorld) -> None:
    with transaction(world.factory) as session:
        session.execute(update(Team).values(channel_id=None))
    assert run(world, MONDAY_AFTER) == []
    with transaction(world.factory) as session:
        session.execute(update(Team).values(channel_id=CHANNEL, paused=True))
    assert run(world, MONDAY_AFTER) == []
    assert stored(world) == []


@pytest.mark.parametrize(
    ("now", "tz", "due"),
    [
        (datetime(2026, 11, 23, 8, 59, tzinfo=UTC), "Europe/London", None),
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Europe/London", date(2026, 11, 16)),
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "America/New_York", None),  # 4:00 there
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "Asia/Tokyo", None),  # 8:30 on Monday there
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "Asia/Tokyo", date(2026, 11, 16)),
        (datetime(2026, 11, 25, 12, 0, tzinfo=UTC), "UTC", date(2026, 11, 16)),  # missed Monday: still due
    ],
)
def test_the_digest_week_follows_the_teams_local_monday_morning(now: datetime, tz: str, due: date | None) -> None:
    assert digest_week_due(1, 540, tz, now) == due
