"""Which core each `tandem serve` worker is pinned to (bot/worker_cores.py); the real server's workers are
checked in tests/bot/test_serve.py."""

from __future__ import annotations

from bot.worker_cores import core_for_worker


def test_auto_gives_each_worker_a_core_of_its_own_when_the_workers_fill_the_cores_evenly() -> None:
    first = core_for_worker("auto", 2, {0, 1}, [])
    second = core_for_worker("auto", 2, {0, 1}, [first])
    assert (first, second) == (0, 1)
    assert [core_for_worker("auto", 4, {2, 3}, taken) for taken in ([2, 3], [2, 3, 2])] == [2, 3]


def test_auto_leaves_workers_to_the_kernel_when_some_cores_would_carry_more_than_others() -> None:
    assert core_for_worker("auto", 3, {0, 1}, [0, 1]) is None
    assert core_for_worker("auto", 1, {0, 1}, []) is None


def test_on_pins_round_the_cores_whatever_the_count_and_off_never_pins() -> None:
    assert [core_for_worker("on", 3, {0, 1}, taken) for taken in ([], [0], [0, 1])] == [0, 1, 0]
    assert core_for_worker("off", 2, {0, 1}, []) is None


def test_a_single_usable_core_is_never_pinned_to() -> None:
    assert core_for_worker("on", 2, {5}, []) is None


def test_a_worker_replacing_one_that_died_takes_the_core_it_left() -> None:
    assert core_for_worker("auto", 4, {0, 1, 2, 3}, [0, 1, 3]) == 2
    assert core_for_worker("auto", 2, {0, 1}, [None, 1]) == 0  # an unpinned sibling holds no core
