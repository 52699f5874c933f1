"""Reading an import file: streamed rows with their line numbers, how far through the file, why it stopped."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from jobs.imports.csv_rows import HeaderError, numbered_rows

# (what is counted, how many, fraction of the work done 0-1): the CLI draws it as a progress line.
Progress = Callable[[str, int, float], None]


class NotUtf8(ValueError):
    def __init__(self, line: int) -> None:
        super().__init__(f"line {line} is not UTF-8 text (save or export the file as CSV UTF-8)")


# What can stop reading part way through a file: bytes that are not UTF-8, a NUL byte, a huge cell.
READ_ERRORS = (NotUtf8, csv.Error)


@dataclass
class CsvSource:
    """The rows of an open CSV file after its header, read one at a time (never the whole file)."""

    handle: TextIO
    size: int
    header: list[str] | None
    rows: Iterator[tuple[int, list[str]]]
    line: int = 1  # where the last row read starts

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        for line, cells in self.rows:
            self.line = line
            yield line, cells

    def fraction(self) -> float:
        """How far through the file reading is (to the read-ahead buffer: plenty for a progress line)."""
        return min(1.0, self.handle.buffer.tell() / self.size) if self.size else 1.0


@contextmanager
def open_csv(path: Path) -> Iterator[CsvSource]:
    """The file's rows; a byte-order mark (Excel writes one) is dropped. HeaderError when the first line
    cannot be read; a later reading error is the caller's to catch (READ_ERRORS) and explain (stop_reason)."""
    # surrogateescape: a stray byte must not fail a whole 8 KB chunk at once, but its own line (_checked).
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        rows = numbered_rows(_checked(handle))
        try:
            header = next(rows, (1, None))[1]
        except READ_ERRORS as error:
            raise HeaderError(f"the first line cannot be read: {error}") from None
        yield CsvSource(handle, path.stat().st_size, header, rows)


def _checked(lines: Iterable[str]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        # Nearly every line is ASCII, which isascii() settles without a copy.
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise NotUtf8(number) from None
        yield line


def stop_reason(source: CsvSource, error: Exception) -> str:
    if isinstance(error, NotUtf8):
        return f"reading stopped: {error}"
    return f"reading stopped after line {source.line}: {error}"
