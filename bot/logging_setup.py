"""Logging: human-readable text or one JSON object per line, chosen by TANDEM_LOG_FORMAT."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime

# Extra fields a log call may pass (logger.info("…", extra={...})) that the JSON format keeps.
EXTRA_FIELDS = ("request_id", "method", "path", "status", "latency_ms", "event_id", "kind")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} request_id={request_id}" if request_id and "request_id=" not in line else line


_listener: logging.handlers.QueueListener | None = None


class _ExtrasQueueHandler(logging.handlers.QueueHandler):
    """Enqueue the record itself: QueueHandler's default prepare() would format it on the caller's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def stop_logging() -> None:
    """Write out what is queued (at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(stop_logging)


def configure_logging(level: str, log_format: str) -> None:
    """Route every record through a queue to one writer thread.

    Request threads only enqueue; formatting and writing happen on the writer thread, so a busy
    server's threads never queue on the stream's lock. Call again after a fork: threads do not
    survive it.
    """
    global _listener
    if _listener is not None:
        _listener.stop()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler, respect_handler_level=False)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_ExtrasQueueHandler(records)]
    root.setLevel(level)
    # Alembic and APScheduler narrate every plugin and tick; Tandem logs the lines that matter itself
    # (what migrated, which job ran for which period).
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
