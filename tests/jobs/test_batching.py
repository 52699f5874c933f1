"""A background writer's batch gathers while items keep arriving, and no longer."""

from __future__ import annotations

import threading
import time

from jobs.batching import gather


def arriving(items: list[int], count: int, every: float) -> threading.Thread:
    def add() -> None:
        for n in range(count):
            time.sleep(every)
            items.append(n)

    thread = threading.Thread(target=add)
    thread.start()
    return thread


def test_it_waits_one_step_when_nothing_more_arrives() -> None:
    started = time.monotonic()
    gather([1], linger=30, step=0.01, full=100)
    assert time.monotonic() - started < 5


def test_it_waits_on_while_items_keep_arriving() -> None:
    items: list[int] = [0]
    adder = arriving(items, count=6, every=0.1)  # the last at about 0.6 s
    gather(items, linger=30, step=0.25, full=100)
    gathered = len(items)
    adder.join()
    assert gathered == 7  # every item arrived before it returned


def test_it_stops_waiting_once_the_batch_is_full() -> None:
    items: list[int] = [0]
    adder = arriving(items, count=100, every=0.01)
    started = time.monotonic()
    gather(items, linger=30, step=0.1, full=5)
    assert len(items) < 100 and time.monotonic() - started < 5
    adder.join()


def test_it_waits_no_longer_than_the_linger() -> None:
    items: list[int] = [0]
    adder = arriving(items, count=30, every=0.05)  # still arriving for 1.5 s
    gather(items, linger=0.3, step=0.1, full=1000)
    assert len(items) < 30
    adder.join()
