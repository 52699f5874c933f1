"""Logging: records are formatted and written by one thread, a batch at a time, and none is lost at exit."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator

import pytest

from bot.logging_setup import configure_logging, log_request, stop_logging


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


@pytest.mark.usefixtures("restore_logging")
def test_a_request_line_is_written_as_the_same_json_a_record_with_its_fields_would_be(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("tandem.http")
    log_request(log, "POST", '/webhooks/"odd"\u00e9', 200, 3.5, "abc123")
    log.info(
        "%s %s %s %.2fms",
        "POST",
        '/webhooks/"odd"\u00e9',
        200,
        3.5,
        extra={
            "request_id": "abc123",
            "method": "POST",
            "path": '/webhooks/"odd"\u00e9',
            "status": 200,
            "latency_ms": 3.5,
        },
    )
    stop_logging()
    fast, ordinary = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert fast.pop("time")[:16] == ordinary.pop("time")[:16]
    assert fast == ordinary
    assert fast["message"] == 'POST /webhooks/"odd"\u00e9 200 3.50ms' and fast["pid"] == os.getpid()


@pytest.mark.usefixtures("restore_logging")
def test_a_request_line_reads_as_any_other_line_in_the_text_format_and_respects_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text")
    log = logging.getLogger("tandem.http")
    log_request(log, "GET", "/healthz", 200, 0.25, "r-1")
    logging.getLogger().setLevel("WARNING")
    log_request(log, "GET", "/readyz", 200, 0.25, "r-2")
    stop_logging()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" INFO tandem.http GET /healthz 200 0.25ms request_id=r-1")
