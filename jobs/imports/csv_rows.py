"""Pure: what both CSV imports share: header names, numbered rows, times, and the error log."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Errors printed one per line; beyond this many only the count is kept (memory stays bounded).
ERRORS_SHOWN = 20
DOCS = "docs/imports.md"


class HeaderError(ValueError):
    """The first line cannot be used: the message is one line naming what is wrong."""


class RowError(ValueError):
    """One row cannot be imported: the message says why, without the line number (the caller adds it)."""


@dataclass
class ErrorLog:
    """The first ERRORS_SHOWN row errors with their line numbers, and how many rows had errors in all."""

    shown: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.shown) < ERRORS_SHOWN:
            self.shown.append((line, message))


@dataclass(frozen=True)
class Header:
    """Where each known column is (an index into a row's cells), and the columns that are not used."""

    width: int
    index: dict[str, int]
    ignored: tuple[str, ...]
    # Index of each known column in the order read_header was given them (-1: not in the file).
    positions: tuple[int, ...]

    def values(self, cells: Sequence[str]) -> list[str]:
        """The stripped cells of the known columns, in their given order ("" for a column the file lacks).

        One list per row, not a lookup per cell: this runs a million times in a large import.
        """
        return [cells[at].strip() if at >= 0 else "" for at in self.positions]


def column_name(raw: str) -> str:
    """Exports write "Ticket ID" or "ticket-id"; all of them mean ticket_id."""
    return re.sub(r"[\s\-]+", "_", raw.strip().lstrip("\ufeff").strip()).lower()


def read_header(cells: Sequence[str] | None, known: Sequence[str], required: Iterable[str]) -> Header:
    if not cells:
        raise HeaderError(f"the file is empty: its first line must name the columns (see {DOCS})")
    names = [column_name(cell) for cell in cells]
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise HeaderError(f"the header names {', '.join(repeated)} more than once")
    missing = [name for name in required if name not in names]
    if missing:
        raise HeaderError(f"the header lacks the required column(s) {', '.join(missing)} (see {DOCS})")
    index = {name: at for at, name in enumerate(names) if name in known}
    ignored = tuple(cell.strip() for cell, name in zip(cells, names, strict=True) if name not in index)
    positions = tuple(index.get(name, -1) for name in known)
    return Header(width=len(cells), index=index, ignored=ignored, positions=positions)


def numbered_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells) of every row, the header first; blank lines are skipped.

    Line numbers are the file's own (a quoted cell may span lines), so a spreadsheet user can find the row.
    """
    reader = csv.reader(lines)
    last = 0
    for cells in reader:
        start, last = last + 1, reader.line_num
        if cells:
            yield start, cells


def check_width(header: Header, cells: Sequence[str]) -> None:
    if len(cells) != header.width:
        raise RowError(f"{len(cells)} cells where the header has {header.width} (a stray comma or quote?)")


def parse_time(text: str, column: str) -> datetime:
    """ISO 8601 with Z or an offset, or YYYY-MM-DD HH:MM[:SS]; a time without an offset is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(f"{column} {text!r} is not a time (use ISO 8601 or YYYY-MM-DD HH:MM:SS)") from None
    zone = value.tzinfo
    if zone is UTC:  # "…Z" and "+00:00" parse to this very object: nothing to convert
        return value
    if zone is not None:
        return value.astimezone(UTC)
    try:
        # Parsing again with the zone is several times faster than replace(tzinfo=…), and this runs for
        # millions of cells in a large import. A date alone drops or refuses the offset: checked.
        aware = datetime.fromisoformat(text + "+00:00")
    except ValueError:
        aware = value
    return aware if aware.tzinfo is UTC else value.replace(tzinfo=UTC)


def parse_count(text: str, column: str) -> int:
    """A whole number of at least zero (seconds, a score)."""
    try:
        value = int(text)
    except ValueError:
        raise RowError(f"{column} {text!r} is not a whole number") from None
    if value < 0:
        raise RowError(f"{column} {text!r} is negative")
    return value
