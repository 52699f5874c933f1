"""Concurrent writes committed in groups: one transaction (and one commit, and one turn of SQLite's writer
lock) for the writes that arrive together, each sender answered only once its own write is committed.
Used by the webhook ingest on PostgreSQL to keep deliveries before their answers (on SQLite each sender
keeps its own: jobs/helpdesk/ingest_queue.py says why); knows nothing of what it writes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


_PENDING: Any = object()


class _Waiting(Generic[Item, Result]):
    __slots__ = ("item", "outcome", "woken")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.outcome: Result | Exception = _PENDING  # its result, or the exception it failed with
        # Released once written (or failed), or once first in line (then it writes). A bare lock, taken
        # here and released by the thread that wakes it: the cheapest wake-up there is.
        self.woken = threading.Lock()
        self.woken.acquire()

    def wait(self) -> None:
        self.woken.acquire()

    def wake(self) -> None:
        self.woken.release()


class GroupCommit(Generic[Item, Result]):
    """Concurrent writes committed in groups, each sender answered only after its own write is committed.

    Senders queue in arrival order. The first in line writes its own item and every item queued behind
    it (up to `max_group`) with one call of `write`, which commits them and returns one outcome each (a
    result, or the exception that item failed with); then it hands the line to the next sender waiting
    and wakes the senders of its group with their outcomes. No thread of its own: a sender waits, or writes.
    """

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result | Exception]], max_group: int) -> None:
        self._write = write
        self._max_group = max_group
        self._guard = threading.Lock()
        self._line: deque[_Waiting[Item, Result]] = deque()

    @property
    def waiting(self) -> int:
        """Writes not answered yet: being written, or waiting for the next group."""
        return len(self._line)

    def submit(self, item: Item) -> Result:
        me: _Waiting[Item, Result] = _Waiting(item)
        with self._guard:
            self._line.append(me)
            first = len(self._line) == 1
        if not first:
            me.wait()
        if me.outcome is _PENDING:
            self._write_group()
        if isinstance(me.outcome, Exception):
            raise me.outcome
        return me.outcome

    def _write_group(self) -> None:
        with self._guard:
            group = list(islice(self._line, self._max_group))
        # What every sender of the group hears if the write is interrupted (the interruption itself goes on).
        outcomes: Sequence[Result | Exception] = [RuntimeError("the write was interrupted")] * len(group)
        try:
            outcomes = self._outcomes([waiting.item for waiting in group])
        finally:
            with self._guard:
                for _ in group:
                    self._line.popleft()
                following = self._line[0] if self._line else None
            if following is not None:
                following.wake()
            for waiting, outcome in zip(group, outcomes, strict=True):
                waiting.outcome = outcome
                if waiting is not group[0]:  # the first is the thread writing: it is awake
                    waiting.wake()

    def _outcomes(self, items: Sequence[Item]) -> Sequence[Result | Exception]:
        try:
            outcomes = self._write(items)
        except Exception as error:
            return [error] * len(items)
        if len(outcomes) != len(items):
            return [RuntimeError(f"{len(outcomes)} outcomes for {len(items)} writes")] * len(items)
        return outcomes
