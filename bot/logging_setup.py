"""Logging: human-readable text or one JSON object per line, chosen by TANDEM_LOG_FORMAT."""

from __future__ import annotations

import atexit
import heapq
import json
import logging
import logging.handlers
import math
import os
import queue
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote
from typing import NamedTuple

# The logger of the one line each HTTP request gets (log_request).
REQUEST_LOGGER = "tandem.http"
# Seconds the writer lets request lines gather once the first of them wakes it (_LineWriter).
GATHER_SECONDS = 0.05
# Extra fields a log call may pass (logger.info("…", extra={...})) that the JSON format keeps.
EXTRA_FIELDS = ("request_id", "method", "path", "status", "latency_ms", "event_id", "kind")


# A request's line in JSON, as JsonFormatter writes any record with the request fields, filled in by
# hand: 5 us a line against 9.6 us through the dict and the encoder (timeit, one thread), and a busy
# server writes one for every request.
_REQUEST_MESSAGE = "%s %s %s %.2fms"  # a request line's message: method, path, status, latency
_REQUEST_JSON = (
    '{"time": "%s", "level": "INFO", "logger": "' + REQUEST_LOGGER + '", "pid": %d, "message": %s, '
    '"request_id": %s, "method": %s, "path": %s, "status": %d, "latency_ms": %s}'
)


class JsonFormatter(logging.Formatter):
    # One encoder for every line: json.dumps(..., default=str) would build a new one each call.
    _encode = json.JSONEncoder(default=str).encode

    def request_line(self, line: RequestLine, pid: int) -> str:
        """A request's line straight from what its thread handed over, written as `format` writes the record
        it would make (_RequestRecord): the writer's own way for the lines of a batch with no other record."""
        if not _plain_numbers(line.status, line.latency_ms):
            return self.format(_RequestRecord(line))
        # Quoted as the encoder quotes strings (ensure_ascii), the float as it writes floats.
        return _REQUEST_JSON % (
            _time_of(line.created),
            pid,
            _quote(_REQUEST_MESSAGE % (line.method, line.path, line.status, line.latency_ms)),
            _quote(line.request_id),
            _quote(line.method),
            _quote(line.path),
            line.status,
            float.__repr__(line.latency_ms),
        )

    def format(self, record: logging.LogRecord) -> str:
        if type(record) is _RequestRecord and _plain_numbers(record.status, record.latency_ms):
            return _REQUEST_JSON % (
                _time(record),
                os.getpid(),
                _quote(record.getMessage()),
                _quote(record.request_id),
                _quote(record.method),
                _quote(record.path),
                record.status,
                float.__repr__(record.latency_ms),
            )
        entry: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            # Formatted in the process that logged it (records never cross processes here), so its pid is
            # this one's: records do not look it up (see _skip_unused_record_fields).
            "pid": os.getpid(),
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self._encode(entry)


def _plain_numbers(status: object, latency_ms: object) -> bool:
    """Numbers `%d` and float's repr write as the JSON encoder would (not a bool, not NaN)."""
    return type(status) is int and type(latency_ms) is float and math.isfinite(latency_ms)


def _time(record: logging.LogRecord) -> str:
    return _time_of(record.created)


def _time_of(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, character for character, in
    0.9 us against 2.1 us (timeit): a busy server writes thousands of lines a second, and the part up to
    the second changes once a second. Rounded to the microsecond first as datetime rounds a timestamp
    (the fraction of a second, half to even), then cut to the millisecond as isoformat cuts it."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1_000_000)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:  # before 1970: modf keeps the sign
        whole, micro = whole - 1, micro + 1_000_000
    return f"{_second_of(int(whole))}.{micro // 1000:03d}+00:00"


@lru_cache(maxsize=4)
def _second_of(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} request_id={request_id}" if request_id and "request_id=" not in line else line


class _ExtrasQueueHandler(logging.handlers.QueueHandler):
    """Enqueue the record itself: QueueHandler's default prepare() would format it on the caller's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class RequestLine(NamedTuple):
    """What the one line of a request (DESIGN.md) says, as its thread hands it to the writer."""

    created: float  # time.time() when it was logged
    request_id: str
    method: str
    path: str
    status: int
    latency_ms: float


class _RequestRecord(logging.LogRecord):
    """A request's line as a record, made without LogRecord's constructor: only what the formatters read.
    The constructor looks up a dozen things neither format writes."""

    def __init__(self, line: RequestLine) -> None:
        self.created = line.created
        self.msecs = int((self.created - int(self.created)) * 1000) + 0.0  # as LogRecord computes it
        self.name, self.levelno, self.levelname = REQUEST_LOGGER, logging.INFO, "INFO"
        self.msg, self.args = _REQUEST_MESSAGE, (line.method, line.path, line.status, line.latency_ms)
        self.exc_info = self.exc_text = self.stack_info = None
        self.request_id, self.method, self.path = line.request_id, line.method, line.path
        self.status, self.latency_ms = line.status, line.latency_ms


_WAKE = object()  # queued when request lines start to wait: the writer wakes, gathers, and writes them


class _LineWriter:
    """One thread that formats the lines logged and writes what has gathered in one write.

    Records come through a queue. Request lines, most of what a busy server logs, are appended to a deque
    instead, and only the first line after a write wakes the writer, which lets lines gather for
    GATHER_SECONDS before it writes them all. A wake-up a line cost far more than the line: the writer
    took the GIL from the request threads at every request. Under bench_ingest's load, a line each
    against none at all: 0.69 against 0.54 ms of CPU a webhook (perf stat, 3 pairs), 0.63 against 0.57 (3
    more); side by side (benchmarks/compare_ingest.py, 12 rounds), none at all took 0.94 of the CPU a
    wake-up a line did, and this writer 0.96. One write a batch, not one a line, for the same reason: a
    write gives up the GIL, and every thread that gives it up queues to get it back.
    """

    def __init__(self, records: queue.SimpleQueue[object], formatter: logging.Formatter) -> None:
        self._records = records
        self._requests: deque[RequestLine] = deque()
        self._woken = False  # a wake-up is queued for the request lines waiting
        self._formatter = formatter
        self._stream = sys.stderr
        self._thread = threading.Thread(target=self._write_forever, name="log-writer", daemon=True)
        self._thread.start()

    def _write_forever(self) -> None:
        while True:
            first = self._records.get()
            if first is _WAKE:  # request lines wait: let more gather (other records are written at once)
                time.sleep(GATHER_SECONDS)
            # Before the lines are taken: a line appended from now on wakes the writer again.
            self._woken = False
            batch = [first]
            while len(batch) < 10_000:
                try:
                    batch.append(self._records.get_nowait())
                except queue.Empty:
                    break
            records = [item for item in batch if isinstance(item, logging.LogRecord)]
            taken = [self._requests.popleft() for _ in range(len(self._requests))]
            if not records and isinstance(self._formatter, JsonFormatter):
                # Most batches of a busy server: request lines only, written without a record each.
                pid = os.getpid()
                lines = [self._formatter.request_line(line, pid) for line in taken]
            else:
                # Records and request lines each in the order they came, the two merged by time.
                requests = [_RequestRecord(line) for line in taken]
                merged = heapq.merge(records, requests, key=lambda record: record.created)
                lines = [self._format(record) for record in merged]
            if lines:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            if None in batch:
                return

    def _format(self, record: logging.LogRecord) -> str:
        try:
            return self._formatter.format(record)
        except Exception as error:  # a bad format string in a log call must not stop the logging
            return f"unformattable log record from {record.name}: {error.__class__.__name__}"

    def put(self, record: logging.LogRecord) -> None:
        self._records.put(record)

    def put_request(self, line: RequestLine) -> None:
        self._requests.append(line)
        if not self._woken:  # two threads may both wake it: harmless
            self._woken = True
            self._records.put(_WAKE)

    def stop(self) -> None:
        self._records.put(None)
        self._thread.join(timeout=5)


_writer: _LineWriter | None = None
_handler: logging.Handler | None = None  # the queue handler configure_logging set on the root logger
_requests_log = logging.getLogger(REQUEST_LOGGER)


def log_request(request_id: str, method: str, path: str, status: int, latency_ms: float) -> None:
    """Log the one line a request gets (DESIGN.md): method, path, status, latency and request id, at INFO.

    While the root logger's only handler is Tandem's writer, the line goes straight to the writer's request
    lines as a tuple, made into a record only when the writer formats it: not through the logging module's
    path (the record's constructor, the logger hierarchy, the handler's lock), and without waking the
    writer at each line (_LineWriter says why). On a busy server this line is most of what is logged.
    Anywhere else (a test's log capture, say) it goes through logging as any line, and reads the same."""
    if not _requests_log.isEnabledFor(logging.INFO):
        return
    writer, handlers = _writer, logging.root.handlers
    if writer is not None and len(handlers) == 1 and handlers[0] is _handler and not _requests_log.handlers:
        writer.put_request(RequestLine(time.time(), request_id, method, path, status, latency_ms))
        return
    extra = {"request_id": request_id, "method": method, "path": path, "status": status, "latency_ms": latency_ms}
    _requests_log.info(_REQUEST_MESSAGE, method, path, status, latency_ms, extra=extra)


def stop_logging() -> None:
    """Write out what is queued (at exit)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(stop_logging)


def _skip_unused_record_fields() -> None:
    """Neither format writes where a call was made from, nor the thread or process names: a record then
    skips looking them up (the logging HOWTO's "Optimization" section): a request's access line then costs
    its thread 5.2 us instead of 8.8 (one thread, timeit)."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the HOWTO's documented switch for the caller lookup
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(level: str, log_format: str) -> None:
    """Route every record through a queue to one writer thread.

    Request threads only enqueue; formatting and writing happen on the writer thread, so a busy
    server's threads never queue on the stream's lock. Call again after a fork: threads do not
    survive it.
    """
    global _writer, _handler
    stop_logging()
    _skip_unused_record_fields()
    records: queue.SimpleQueue[object] = queue.SimpleQueue()
    _writer = _LineWriter(records, JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    _handler = _ExtrasQueueHandler(records)  # type: ignore[arg-type]
    root.handlers[:] = [_handler]
    root.setLevel(level)
    # Alembic and APScheduler narrate every plugin and tick; Tandem logs the lines that matter itself
    # (what migrated, which job ran for which period).
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
