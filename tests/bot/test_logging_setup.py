"""Logging: records are formatted and written by one thread, a batch at a time, and none is lost at exit."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bot.logging_setup import (
    GATHER_SECONDS,
    REQUEST_LOGGER,
    JsonFormatter,
    RequestLine,
    _RequestRecord,
    _time_of,
    configure_logging,
    log_request,
    stop_logging,
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    stop_logging()
    root.handlers[:], root.level = handlers, level


def in_threads(work: Callable[[int], None], count: int) -> None:
    """`work(n)` on `count` threads at once, n from 0; returns once all are done."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.usefixtures("restore_logging")
def test_every_line_logged_from_many_threads_is_written_once_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("tandem.test")

    def log_lines(thread: int) -> None:
        for n in range(200):
            log.info("line %d of thread %d", n, thread, extra={"request_id": f"{thread}-{n}"})

    in_threads(log_lines, 8)
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


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_request_line_reads_as_the_same_line_logged_through_logging(
    capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure_logging("INFO", log_format)
    path = '/webhooks/a "quoted" p\u00e4th\\'
    log_request("00ff00ff00ff00ff", "POST", path, 401, 1.5)
    logging.getLogger(REQUEST_LOGGER).info(
        "%s %s %s %.2fms",
        "POST",
        path,
        401,
        1.5,
        extra={"request_id": "00ff00ff00ff00ff", "method": "POST", "path": path, "status": 401, "latency_ms": 1.5},
    )
    stop_logging()
    queued, logged = capsys.readouterr().err.splitlines()
    if log_format == "json":
        queued_line, logged_line = json.loads(queued), json.loads(logged)
        assert queued_line.pop("time")[:19] == logged_line.pop("time")[:19]
        assert queued_line == logged_line
        assert queued_line["message"] == f"POST {path} 401 1.50ms"
        # Written the same to the character, past the time (the request line's JSON is filled in by hand).
        assert queued.split('"level"', 1)[1] == logged.split('"level"', 1)[1]
    else:
        assert queued[:19] == logged[:19]  # the time, to the second
        line = f"INFO tandem.http POST {path} 401 1.50ms request_id=00ff00ff00ff00ff"
        assert queued.split(" ", 2)[2] == logged.split(" ", 2)[2] == line  # after the date and time


@pytest.mark.usefixtures("restore_logging")
def test_a_batch_of_request_lines_alone_is_written_as_the_same_lines_logged_through_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A batch with no other record is written straight from the lines its threads handed over."""
    configure_logging("INFO", "json")
    paths = ['/webhooks/a "quoted" p\u00e4th\\', "/webhooks/zendesk"]
    for n, path in enumerate(paths):
        log_request(f"00ff00ff00ff00f{n}", "POST", path, 200 + n, 1.25 + n)
    written = ""
    deadline = time.monotonic() + 10
    while written.count("\n") < len(paths) and time.monotonic() < deadline:  # the batch, before anything else
        time.sleep(GATHER_SECONDS)
        written += capsys.readouterr().err
    for n, path in enumerate(paths):
        extra = {"request_id": f"00ff00ff00ff00f{n}", "method": "POST", "path": path, "status": 200 + n}
        logging.getLogger(REQUEST_LOGGER).info(
            "%s %s %s %.2fms", "POST", path, 200 + n, 1.25 + n, extra={**extra, "latency_ms": 1.25 + n}
        )
    stop_logging()
    alone, logged = written.splitlines(), capsys.readouterr().err.splitlines()
    assert len(alone) == len(logged) == len(paths)
    for line, same in zip(alone, logged, strict=True):
        assert line.split('"level"', 1)[1] == same.split('"level"', 1)[1]  # to the character, past the time


def test_a_request_line_whose_numbers_json_would_write_otherwise_is_written_as_its_record_would_be() -> None:
    formatter = JsonFormatter()
    for status, latency in ((200, 1.5), (True, 1.5), (200, float("nan")), (200, 2)):
        line = RequestLine(1_795_000_000.25, "00ff00ff00ff00ff", "POST", "/webhooks/generic", status, latency)
        assert formatter.request_line(line, os.getpid()) == formatter.format(_RequestRecord(line))


@pytest.mark.usefixtures("restore_logging")
def test_a_request_line_reaches_any_other_handler_through_logging(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    records: list[logging.LogRecord] = []
    other = logging.Handler()
    other.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(other)
    log_request("00ff00ff00ff00ff", "GET", "/healthz", 200, 0.25)
    stop_logging()
    [record] = records
    assert (record.name, record.getMessage()) == (REQUEST_LOGGER, "GET /healthz 200 0.25ms")
    assert (record.request_id, record.status, record.latency_ms) == ("00ff00ff00ff00ff", 200, 0.25)  # type: ignore[attr-defined]
    assert json.loads(capsys.readouterr().err)["request_id"] == "00ff00ff00ff00ff", "and Tandem's own line is written"


@pytest.mark.usefixtures("restore_logging")
def test_no_request_line_is_written_below_the_configured_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "json")
    log_request("00ff00ff00ff00ff", "GET", "/healthz", 200, 0.25)
    logging.getLogger("tandem.test").warning("a warning")
    stop_logging()
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "a warning"


@pytest.mark.usefixtures("restore_logging")
def test_every_request_line_from_many_threads_is_written_once_in_each_threads_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")

    def log_lines(thread: int) -> None:
        for n in range(300):
            log_request(f"{thread}-{n}", "POST", f"/webhooks/t{thread}", 200, 0.5)

    in_threads(log_lines, 8)
    stop_logging()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2400
    for t in range(8):
        mine = [line["request_id"] for line in lines if line["path"] == f"/webhooks/t{t}"]
        assert mine == [f"{t}-{n}" for n in range(300)]


@pytest.mark.usefixtures("restore_logging")
def test_request_lines_and_other_lines_are_written_in_the_order_they_were_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text")
    log = logging.getLogger("tandem.test")
    log.info("starting")
    log_request("00ff00ff00ff00ff", "GET", "/healthz", 200, 0.25)
    log.warning("in between")
    log_request("00ff00ff00ff00fe", "GET", "/readyz", 200, 0.5)
    stop_logging()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 4)[4] for line in lines] == [
        "starting",
        "GET /healthz 200 0.25ms request_id=00ff00ff00ff00ff",
        "in between",
        "GET /readyz 200 0.50ms request_id=00ff00ff00ff00fe",
    ]


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.mark.usefixtures("restore_logging")
def test_request_lines_logged_together_are_written_together(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _CountingStream()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("INFO", "json")
    started = time.monotonic()
    for n in range(50):  # over 50-100 ms, as requests come in: the writer could write each line on its own
        log_request(f"{n:016x}", "POST", "/webhooks/zendesk", 200, 0.5)
        time.sleep(0.001)
    batches = (time.monotonic() - started) / GATHER_SECONDS + 1  # at most, however slow the machine is now
    stop_logging()
    assert len(stream.getvalue().splitlines()) == 50
    assert stream.writes <= batches + 1, "one write (and one wake-up) a batch of lines, not one a line"


@pytest.mark.parametrize(
    "created",
    [
        1763950000.9999995,  # rounds up to the next second
        1763950000.9999994,
        1763950000.0005,
        1763950000.9995,
        1763950000.0,
        1763950000.0000005,
        0.5,
        -1.0000005,  # before 1970
    ],
)
def test_a_lines_time_is_written_as_datetime_writes_it_to_the_millisecond(created: float) -> None:
    assert _time_of(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def test_a_lines_time_is_written_as_datetime_writes_it_at_any_time_halfway_between_two_microseconds_too() -> None:
    numbers = random.Random(5).sample(range(2 * 10**15), 20_000)
    times = [n / 1e6 for n in numbers] + [n / 1e6 + 0.0000005 for n in numbers]
    assert [_time_of(t) for t in times] == [
        datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds") for t in times
    ]
