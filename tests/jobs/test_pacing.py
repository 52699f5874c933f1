from __future__ import annotations

from jobs.pacing import SendPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_it_does_not_slow_anything_down_until_slack_says_429():
    fake = FakeTime()
    pacer = SendPacer(fake.clock, fake.sleep)
    for _ in range(500):
        pacer.wait_turn()
    assert fake.slept == [] and pacer.rate is None


def test_a_429_pauses_every_sender_for_retry_after_and_paces_just_under_the_rate_that_drew_it():
    fake = FakeTime()
    pacer = SendPacer(fake.clock, fake.sleep)
    for _ in range(50):  # fifty sends accepted within the same second
        pacer.wait_turn()
        pacer.accepted()
    pacer.rate_limited(retry_after=1)
    pacer.rate_limited(retry_after=1)  # a sibling's send that was already in flight: no second cut
    assert pacer.rate == 50 * 0.95
    started = fake.now
    pacer.wait_turn()
    assert fake.now == started + 1  # waited out Retry-After
    for _ in range(48):
        pacer.wait_turn()
    assert 48 / (fake.now - started - 1) <= 50  # paced under the limit afterwards


def test_the_pace_creeps_back_up_while_there_is_no_429():
    fake = FakeTime()
    pacer = SendPacer(fake.clock, fake.sleep)
    for _ in range(20):
        pacer.wait_turn()
        pacer.accepted()
    pacer.rate_limited(retry_after=0)
    slow = pacer.rate
    for _ in range(1000):  # about fifty seconds at that pace
        pacer.wait_turn()
    assert slow is not None and pacer.rate is not None and pacer.rate > slow
