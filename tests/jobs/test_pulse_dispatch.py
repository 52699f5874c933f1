"""The fan-out against the Slack stand-in through Tandem's real notifier and a real database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from jobs.pulse_rounds import open_due_rounds
from storage.db import transaction
from storage.deliveries import claim_deliveries
from storage.models import Delivery, Member, PulseRound
from storage.records import PulseView
from tests.pulse_fixtures import BANK, PulseWorld, make_world
from tests.slack_standin import SlackStandin

TUESDAY_10_LONDON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    return make_world(engine, standin, TUESDAY_10_LONDON)


def dms_per_user(standin: SlackStandin) -> dict[str, int]:
    """DMs that Slack accepted (a 429 posts nothing), per user."""
    return standin.stats()["posts_per_user"]


def statuses(world: PulseWorld) -> Counter[str]:
    with world.engine.connect() as connection:
        return Counter(dict(connection.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def test_each_member_gets_exactly_one_dm_and_running_again_sends_nothing(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 12)
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    first = world.dispatcher().send_due([team], right_now=True)
    second = world.dispatcher().send_due([team], right_now=True)
    assert (first.sent, second.sent) == (12, 0)
    assert set(dms_per_user(world.standin).values()) == {1} and len(dms_per_user(world.standin)) == 12
    assert statuses(world) == {"sent": 12}


def test_a_member_slack_will_not_deliver_to_is_marked_inactive_and_the_round_goes_on(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 6)
    world.standin.fail("chat.postMessage", "cannot_dm_bot")
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    report = world.dispatcher().send_due([team], right_now=True)
    assert (report.sent, report.undeliverable) == (5, 1)
    with world.engine.connect() as connection:
        assert connection.execute(select(func.count()).where(Member.active.is_(False))).scalar_one() == 1


def test_passing_failures_are_retried_and_a_lasting_error_costs_only_that_member(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5)
    waits: list[float] = []
    world.standin.fail("chat.postMessage", "internal_error", times=2)
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    report = world.dispatcher(concurrency=1, sleep=waits.append).send_due([team], right_now=True)
    assert report.sent == 5 and waits == [0.5, 1.0]  # backoff doubles

    other = world.add_team("Sales", 10, 5)
    world.standin.fail("chat.postMessage", "invalid_blocks")
    world.now += timedelta(days=1)
    open_due_rounds(world.factory, BANK, world.now, [other], right_now=True)
    report = world.dispatcher(concurrency=1).send_due([other], right_now=True)
    assert report.sent == 4 and report.errors == {"invalid_blocks": 1}
    assert statuses(world)["failed"] == 1  # not tried again in the same run …
    world.now += timedelta(minutes=1)
    assert world.dispatcher().send_due([other], right_now=True).sent == 1  # … but by the next one


def test_a_429_pauses_the_sends_for_retry_after_and_loses_nothing(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 8)
    world.standin.rate_limit("chat.postMessage", retry_after=1, times=1)
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    report = world.dispatcher().send_due([team], right_now=True)
    posts = world.standin.calls_to("chat.postMessage")
    assert report.sent == 8 and len(posts) == 9
    assert posts[-1].at - posts[0].at >= 0.9  # everyone waited out the Retry-After
    assert set(dms_per_user(world.standin).values()) == {1}


def test_a_crashed_send_is_settled_from_the_dm_history_and_only_what_is_missing_is_sent(world: PulseWorld) -> None:
    world.now = datetime.now(UTC) - timedelta(minutes=11)  # the stand-in's history is stamped by the real clock
    team = world.add_team("Support", 0, 6)
    (opened,) = open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    with transaction(world.factory) as session:
        crashed = list(session.scalars(select(Delivery).order_by(Delivery.id).limit(2)))
        claim_deliveries(session, [d.id for d in crashed], world.now)
        user = session.get_one(Member, crashed[0].member_id).slack_user_id
    # The crashed process got the first DM out, but died before recording it.
    world.notifier.send_pulse(user, PulseView(opened.round_id, (), {}, 5, BANK.agreement_labels), crashed[0].id)

    world.now += timedelta(minutes=11)
    report = world.dispatcher().send_due([team], right_now=True)
    assert report.recovered == 2 and report.sent == 5
    assert set(dms_per_user(world.standin).values()) == {1} and len(dms_per_user(world.standin)) == 6
    assert statuses(world) == {"sent": 6}


def test_members_who_opted_out_after_the_round_opened_get_no_dm(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5)
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    with transaction(world.factory) as session:
        session.execute(update(Member).where(Member.slack_user_id == "U00000002").values(opted_out=True))
    report = world.dispatcher().send_due([team])
    assert (report.sent, report.opted_out) == (4, 1)
    assert "U00000002" not in dms_per_user(world.standin)


def test_a_scheduled_round_opens_once_and_each_member_gets_it_inside_their_own_window(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5)
    with transaction(world.factory) as session:
        tokyo = session.scalars(select(Member).where(Member.slack_user_id == "U00000000")).one()
        tokyo.tz = "Asia/Tokyo"
    world.now = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo: nobody is due yet
    assert open_due_rounds(world.factory, BANK, world.now, [team]) == []
    world.now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert len(open_due_rounds(world.factory, BANK, world.now, [team])) == 1
    assert open_due_rounds(world.factory, BANK, world.now, [team]) == []
    assert world.dispatcher().send_due([team]).sent == 1  # Tokyo only; London is still asleep
    world.now = TUESDAY_10_LONDON
    assert world.dispatcher().send_due([team]).sent == 4
    assert open_due_rounds(world.factory, BANK, world.now + timedelta(days=6), [team]) == []  # same cycle


def test_a_member_who_joins_while_a_round_is_open_waits_for_the_next_round(world: PulseWorld) -> None:
    team = world.add_team("Support", 0, 5)
    open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    world.add_team("Newcomers", 50, 1)
    with transaction(world.factory) as session:
        newcomer = session.scalars(select(Member.id).where(Member.slack_user_id == "U00000050")).one()
        from storage.teams import add_team_members

        add_team_members(session, team, [newcomer])
    world.dispatcher().send_due([team], right_now=True)
    assert "U00000050" not in dms_per_user(world.standin)
    with world.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(PulseRound)).scalar_one() == 1
