"""Logging: records are formatted and written by one thread, a batch at a time, and none is lost at exit."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator

import pytest

from bot.logging_setup import configure_logging, stop_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    stop_logging()
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
def test_every_line_logged_from_many_threads_is_written_once_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("tandem.test")

    def log_lines(thread: int) -> None:
        for n in range(200):
            log.info("line %d of thread %d", n, thread, extra={"request_id": f"{thread}-{n}"})

    threads = [threading.Thread(target=log_lines, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop_logging()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 1600
    assert {line["pid"] for line in lines} == {os.getpid()}
    assert {line["request_id"] for line in lines} == {f"{t}-{n}" for t in range(8) for n in range(200)}
    for t in range(8):
        mine = [line["message"] for line in lines if line["request_id"].startswith(f"{t}-")]
        assert mine == [f"line {n} of thread {t}" for n in range(200)], "each thread's lines stay in order"


@pytest.mark.usefixtures("restore_logging")
def test_a_record_that_cannot_be_formatted_does_not_stop_the_lines_after_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text")
    log = logging.getLogger("tandem.test")
    log.info("%d apples", "not a number")
    log.info("still logging")
    stop_logging()
    err = capsys.readouterr().err
    assert "unformattable log record from tandem.test: TypeError" in err
    assert err.rstrip().endswith("still logging")
