"""The webhook journal: on SQLite, where each raw helpdesk delivery is written before its answer, copied
into a file of this process's own, and read from into the database in batches just after.

Why a file and not the database: on SQLite every thread of every worker shares one write lock, and a
commit per delivery on the request path kept about 4 in 5 of the CPU a webhook cost out of the bare
endpoint's reach (docs/ingest-performance.md). One copy costs a few microseconds and takes no lock any
other process waits for. It is as durable as the SQLite commit it replaces: SQLite runs in WAL mode with
synchronous=NORMAL (storage/db.py), where a commit reaches the operating system, not the disk, and so does
a record (the file is mapped shared: what is copied into the map is in the page cache, as a `write`'s
bytes are); a crash of the process loses neither, a power cut may lose the last of either. The journal
lives beside the database file (`<database>-webhooks/`), on the same disk.

Why a memory map and not `write`: a system call gives up the GIL, and under load a request thread that
gives it up waits for it again behind the others; the journal's `write` was the commonest reason a request
thread was switched out (perf, sched_switch). A copy into the map is no system call. The disk space of a
segment is reserved when it is started (`posix_fallocate`): a full disk fails that start (an OSError, and
the delivery is kept in the database instead), never a copy into the map. (On a copy-on-write filesystem,
ZFS or btrfs, a reservation is no promise, as a `write` is none there either: what the disk has no room
for fails when the kernel writes it back.)

The layout: a directory of segment files, `<pid>-<random>.journal`, each held with an exclusive flock by
the process appending to it for as long as any of its records is not yet in the database. A record is a
frame: its length and CRC-32 (8 bytes, big-endian), then a JSON line of what the delivery row needs but
the body (provider, received-at, kept headers), then the raw body. A segment's space is reserved up to
`max_bytes` (or one frame, if that is bigger) and its frames follow one another from the start; what is
not written yet is zeros, which end what is read. A frame that does not fit starts the next segment; a
full segment is deleted once all its records are committed.

A segment no live process holds (its process was killed, or stopped before the database took all its
records) is an orphan: `orphan` reads it, locked, for the scheduler's sweep to store its records (a
record stored before is a duplicate, skipped) and delete it.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import orjson

HEADER = struct.Struct(">II")  # the frame's length (of what follows the header) and its CRC-32
MAX_SEGMENT_BYTES = 8 * 1024 * 1024
SUFFIX = ".journal"


def journal_directory(database_file: str) -> Path:
    """Where the journal of a SQLite database file lives: beside it, on the same disk."""
    return Path(f"{database_file}-webhooks")


class JournalRecord(NamedTuple):
    """One raw delivery as received: what its database row is made from again if it must be. A named tuple:
    one is made on every webhook's request path, in 0.3 us against a frozen dataclass's 0.8 us."""

    provider: str
    received_at: datetime
    headers: str  # the kept headers, as JSON (credentials left out)
    body: bytes


class Segment:
    """One journal file of this process, mapped, and how many of its records are not in the database yet."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.posix_fallocate(self.fd, 0, capacity)  # the disk is full: fails here, not in a copy
            self.map = mmap.mmap(self.fd, capacity, mmap.MAP_SHARED)
        except OSError:
            path.unlink(missing_ok=True)
            os.close(self.fd)
            raise
        self.capacity = capacity
        self.size = 0  # bytes written: the next frame starts here
        self.pending = 0  # records written and not yet in the database
        self.current = True  # records are appended to it; once not, it is deleted when `pending` is 0

    def close(self) -> None:
        """Unmapped, cut to what was written (a sweep reads no zeros) and closed, its flock let go."""
        self.map.close()
        os.ftruncate(self.fd, self.size)
        os.close(self.fd)


class WebhookJournal:
    """The journal of one process: `append` from any thread, `stored` from the one that writes records
    into the database. A process that forks uses a segment of its own in the child."""

    def __init__(self, directory: Path, max_bytes: int = MAX_SEGMENT_BYTES) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._segment: Segment | None = None
        self._open: set[Segment] = set()
        self._pid = 0

    def append(self, record: JournalRecord) -> Segment:
        """Write one record (raises OSError when it could not be: the disk is full, say); the segment it is
        in, to hand to `stored` once the record is committed to the database."""
        frame = encode(record)
        # The copy is made under the lock: frames are then written in the order their space is taken, so a
        # process killed mid-copy leaves only its last frame cut short, which no frame follows. It holds
        # the lock for a memory copy (no system call, the GIL kept), so threads do not queue on it.
        with self._lock:
            segment = self._segment
            if segment is None or self._pid != os.getpid() or segment.size + len(frame) > segment.capacity:
                segment = self._start(len(frame))
            segment.map[segment.size : segment.size + len(frame)] = frame
            segment.size += len(frame)
            segment.pending += 1
        return segment

    def stored(self, segments: list[Segment]) -> None:
        """These records (a segment once for each) are committed to the database now."""
        with self._lock:
            for segment in segments:
                segment.pending -= 1
                # One `close` let go of (stored after the stop gave up waiting) is the sweep's: its fd is closed.
                if not segment.pending and not segment.current and segment in self._open:
                    self._delete(segment)

    def close(self) -> None:
        """At the process's exit: delete each segment whose records are all stored; leave the others (their
        flock released) for the sweep."""
        with self._lock:
            self._segment = None
            for segment in list(self._open):
                segment.current = False
                if segment.pending:
                    segment.close()
                    self._open.discard(segment)
                else:
                    self._delete(segment)

    def _start(self, frame_bytes: int) -> Segment:
        if self._segment is not None and self._pid == os.getpid():
            self._retire(self._segment)
        if self._pid != os.getpid():
            self._open = set()  # the parent's, inherited across a fork: the parent looks after them
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._pid = os.getpid()
        path = self.directory / f"{self._pid}-{secrets.token_hex(6)}{SUFFIX}"
        self._segment = Segment(path, max(self._max_bytes, frame_bytes))
        self._open.add(self._segment)
        return self._segment

    def _retire(self, segment: Segment) -> None:
        """No more records go to `segment`; it is deleted as soon as those in it are stored."""
        segment.current = False
        if self._segment is segment:
            self._segment = None
        if not segment.pending and segment in self._open:
            self._delete(segment)

    def _delete(self, segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)  # before the flock goes, so no sweep ever reads it
        segment.map.close()
        os.close(segment.fd)
        self._open.discard(segment)


def encode(record: JournalRecord) -> bytes:
    # orjson, as the webhook path's other JSON (jobs/helpdesk/values.load_json): 0.5 us, json.dumps 3 us.
    meta = orjson.dumps([record.provider, record.received_at.isoformat(), record.headers])
    payload = meta + b"\n" + record.body
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode(data: bytes) -> Iterator[JournalRecord]:
    """The records of a segment's bytes, in order, up to the space not written yet (zeros) or the first
    frame that is cut short or damaged (a power cut, or a process killed mid-copy): nothing after it can
    be trusted to start where a frame does."""
    offset = 0
    while offset + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        if not length:  # never a frame's: its JSON line is there even when its body is empty
            return
        payload = data[offset + HEADER.size : offset + HEADER.size + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            return
        meta, _, body = payload.partition(b"\n")
        provider, received_at, headers = orjson.loads(meta)
        yield JournalRecord(provider, datetime.fromisoformat(received_at), headers, body)
        offset += HEADER.size + length


@contextmanager
def orphan(path: Path) -> Iterator[list[JournalRecord] | None]:
    """A segment's records if no live process holds it (None if one does), held locked meanwhile so no
    other sweep reads it too; the caller deletes the file once they are stored."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # its process finished with it meanwhile
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        if not path.exists():  # deleted between the open and the lock: stored already
            yield None
            return
        yield list(decode(path.read_bytes()))
    finally:
        os.close(fd)


def segments(directory: Path) -> list[Path]:
    """Every segment in the journal, oldest first (by modification time)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        try:
            found.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # its process finished with it meanwhile
            continue
    return [path for _, path in sorted(found) if path.name.endswith(SUFFIX)]
