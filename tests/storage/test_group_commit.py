"""Group commit on its own (plain items, threads): writes that arrive together are committed together, each
sender answered only after its own write is committed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from storage.group_commit import GroupCommit
from tests.waiting import wait_until

SENDERS = 24


class Writes:
    """A write function that records its groups, and can hold the first one until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.groups: list[list[Any]] = []
        self.committed: set[Any] = set()
        self.writing = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: Sequence[Any]) -> list[Any]:
        self.writing.set()
        self.release.wait(10)
        self.groups.append(list(items))
        outcomes = [
            ValueError(f"refused {item}") if str(item).startswith("bad") else f"stored {item}" for item in items
        ]
        self.committed.update(items)  # the commit: only now may a sender hear back
        return outcomes


def submit_all(commit: GroupCommit[Any, Any], items: Sequence[Any]) -> dict[Any, Any]:
    """Each item by a thread of its own; what each sender heard (its result or its exception)."""
    heard: dict[Any, Any] = {}

    def send(item: Any) -> None:
        try:
            heard[item] = commit.submit(item)
        except Exception as error:
            heard[item] = error

    with ThreadPoolExecutor(len(items)) as pool:
        list(pool.map(send, items))
    return heard


def test_writes_queued_behind_a_write_in_progress_are_committed_together_as_the_next_group() -> None:
    writes = Writes(hold_first=True)
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=64)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(commit.submit, 0)
        writes.writing.wait(10)
        rest = [pool.submit(commit.submit, n) for n in range(1, 6)]
        wait_until(lambda: commit.waiting == 6)
        writes.release.set()
        assert [f.result(10) for f in [first, *rest]] == [f"stored {n}" for n in range(6)]
    assert [sorted(group) for group in writes.groups] == [[0], [1, 2, 3, 4, 5]]
    assert commit.waiting == 0


def test_each_sender_is_answered_only_after_its_write_is_committed() -> None:
    writes = Writes()
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=64)
    committed_when_answered: list[bool] = []

    def send(item: int) -> None:
        commit.submit(item)
        committed_when_answered.append(item in writes.committed)

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, range(200)))
    assert committed_when_answered == [True] * 200
    assert sorted(item for group in writes.groups for item in group) == list(range(200))


def test_a_group_takes_at_most_max_group_writes() -> None:
    writes = Writes(hold_first=True)
    commit: GroupCommit[Any, Any] = GroupCommit(writes, max_group=3)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(commit.submit, 0)
        writes.writing.wait(10)
        rest = [pool.submit(commit.submit, n) for n in range(1, 8)]
        wait_until(lambda: commit.waiting == 8)
        writes.release.set()
        for future in [first, *rest]:
            future.result(10)
    assert [len(group) for group in writes.groups] == [1, 3, 3, 1]


def test_an_item_that_fails_raises_in_its_own_sender_only() -> None:
    heard = submit_all(GroupCommit(Writes(), max_group=64), ["a", "bad-b", "c", "d"])
    assert isinstance(heard["bad-b"], ValueError) and str(heard["bad-b"]) == "refused bad-b"
    assert [heard[item] for item in ("a", "c", "d")] == ["stored a", "stored c", "stored d"]


def test_a_write_that_raises_fails_its_whole_group_and_the_next_group_is_still_written() -> None:
    groups: list[list[str]] = []

    def write(items: Sequence[str]) -> list[str]:
        groups.append(list(items))
        if "boom" in items:
            raise RuntimeError("the database went away")
        return [f"stored {item}" for item in items]

    commit: GroupCommit[str, str] = GroupCommit(write, max_group=64)
    with pytest.raises(RuntimeError, match="went away"):
        commit.submit("boom")
    assert commit.submit("after") == "stored after"
    assert commit.waiting == 0
