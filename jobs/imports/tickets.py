"""Use case: `tandem import tickets FILE.csv`: a helpdesk's ticket export -> outcome events, once each.

The file is streamed: rows are parsed one at a time and written in batches, each batch in its own
transaction, so memory stays flat whatever the file's size, webhooks keep flowing between batches, and
an interrupted import keeps what it wrote (importing the file again skips those events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jobs.imports.csv_file import READ_ERRORS, Progress, open_csv, stop_reason
from jobs.imports.csv_rows import ErrorLog, RowError
from jobs.imports.ticket_rows import EventRow, ticket_events, ticket_header
from storage.db import SessionFactory, transaction
from storage.imports import insert_events

# Rows per transaction: large enough that commits cost little, small enough that a webhook waiting for
# the SQLite writer lock waits well under a second.
BATCH_ROWS = 5_000


@dataclass
class TicketImport:
    rows: int = 0  # data rows read (the header and blank lines not counted)
    events: int = 0  # events the valid rows describe
    stored: int = 0  # of which were new
    errors: ErrorLog = field(default_factory=ErrorLog)
    ignored_columns: tuple[str, ...] = ()
    stopped: str = ""  # why reading stopped before the end of the file ("" when it did not)

    @property
    def already_there(self) -> int:
        return self.events - self.stored

    def summary(self) -> str:
        return (
            f"tickets: {self.rows} rows read, {self.stored} events stored ({self.already_there} already there), "
            f"{self.errors.count} rows with errors"
        )


def import_tickets(
    factory: SessionFactory, path: Path, progress: Progress | None = None, batch_rows: int = BATCH_ROWS
) -> TicketImport:
    """Import a ticket export. HeaderError (nothing imported) when the first line is not usable."""
    report = TicketImport()
    with open_csv(path) as source:
        header = ticket_header(source.header)
        report.ignored_columns = header.ignored
        pending: list[EventRow] = []
        rows_pending = 0
        try:
            for line, cells in source:
                report.rows += 1
                try:
                    pending += ticket_events(header, cells)
                except RowError as error:
                    report.errors.add(line, str(error))
                    continue
                rows_pending += 1
                if rows_pending >= batch_rows:
                    _write(factory, pending, report)
                    pending, rows_pending = [], 0
                    if progress is not None:
                        progress("rows", report.rows, source.fraction())
        except READ_ERRORS as error:
            report.stopped = stop_reason(source, error)
        _write(factory, pending, report)
    if progress is not None:
        progress("rows", report.rows, 1.0)
    return report


def _write(factory: SessionFactory, events: list[EventRow], report: TicketImport) -> None:
    # Parsing and writing take turns in one thread: a writer thread was measured slower (both halves are
    # mostly Python, so they only fight over the GIL).
    if not events:
        return
    with transaction(factory) as session:
        report.stored += insert_events(session, events)
    report.events += len(events)
