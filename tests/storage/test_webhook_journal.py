"""The webhook journal on a real disk: records read back as written, segments held while their process
writes to them and deleted once their records are in the database, and orphans left for the sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from storage.webhook_journal import HEADER, JournalRecord, WebhookJournal, decode, encode, orphan, segments

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def record(n: int, body: bytes | None = None) -> JournalRecord:
    return JournalRecord("zendesk", NOW, '{"date": "Tue, 24 Nov 2026 12:00:00 GMT"}', body or b'{"id": "%d"}' % n)


def read_all(directory: Path) -> list[JournalRecord]:
    return [found for path in segments(directory) for found in decode(path.read_bytes())]


def test_records_read_back_as_they_were_written_whatever_the_body_holds(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    written = [record(1), record(2, b"not json\nwith a newline \x00 and \xff bytes"), record(3, b"")]
    for each in written:
        journal.append(each)
    assert read_all(tmp_path / "journal") == written


def test_a_frame_cut_short_or_damaged_ends_what_is_read(tmp_path: Path) -> None:
    first, second = encode(record(1)), encode(record(2))
    assert list(decode(first + second[:-1])) == [record(1)]  # a power cut mid-write
    damaged = second[: HEADER.size] + second[HEADER.size :].replace(b"2", b"7")
    assert list(decode(first + damaged + encode(record(3)))) == [record(1)]
    assert list(decode(b"")) == []


def test_a_frame_written_with_the_standard_librarys_json_reads_back(tmp_path: Path) -> None:
    """Segments a version before orjson wrote (json.dumps, with spaces) are read by the sweep after an upgrade."""
    meta = json.dumps(["intercom", NOW.isoformat(), '{"date": "Tue, 24 Nov 2026 12:00:00 GMT"}']).encode()
    payload = meta + b"\n" + b'{"id": "n-1"}'
    frame = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
    assert list(decode(frame)) == [
        JournalRecord("intercom", NOW, '{"date": "Tue, 24 Nov 2026 12:00:00 GMT"}', b'{"id": "n-1"}')
    ]


def test_appends_from_many_threads_each_land_whole(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: journal.append(record(n, b"x" * (1 + n * 37 % 5000))), range(800)))
    assert sorted(len(found.body) for found in read_all(tmp_path / "journal")) == sorted(
        1 + n * 37 % 5000 for n in range(800)
    )


def test_a_full_segment_is_deleted_once_its_records_are_stored_and_the_current_one_at_close(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal", max_bytes=3 * len(encode(record(1))))
    first = [journal.append(record(n)) for n in range(3)]
    assert first[0] is first[1] is first[2]
    later = journal.append(record(9, b"y" * 300))  # the first segment is full with three: a new one
    assert len(segments(tmp_path / "journal")) == 2 and later is not first[0]
    journal.stored(first[:2])
    assert len(segments(tmp_path / "journal")) == 2  # one of its records is not in the database yet
    journal.stored(first[2:])
    assert read_all(tmp_path / "journal") == [record(9, b"y" * 300)]
    journal.stored([later])
    assert len(segments(tmp_path / "journal")) == 1  # still the one appended to
    journal.close()
    assert segments(tmp_path / "journal") == []


def test_a_record_bigger_than_a_segment_gets_a_segment_of_its_own(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal", max_bytes=64)
    small, big = journal.append(record(1)), journal.append(record(2, b"z" * 5000))
    assert small is not big
    assert read_all(tmp_path / "journal") == [record(1), record(2, b"z" * 5000)]


def test_the_space_a_segment_has_not_written_yet_ends_what_is_read(tmp_path: Path) -> None:
    written = encode(record(1)) + encode(record(2, b""))
    assert list(decode(written + bytes(4096))) == [record(1), record(2, b"")]
    journal = WebhookJournal(tmp_path / "journal")
    journal.append(record(3))
    (path,) = segments(tmp_path / "journal")
    assert path.stat().st_size > len(encode(record(3)))  # its space is taken when it is started
    assert read_all(tmp_path / "journal") == [record(3)]


def test_a_segment_left_for_the_sweep_is_cut_to_what_was_written(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    journal.append(record(1))
    journal.append(record(2))
    journal.close()
    (path,) = segments(tmp_path / "journal")
    assert path.read_bytes() == encode(record(1)) + encode(record(2))


def test_a_segment_the_disk_has_no_room_for_is_refused_at_once_and_leaves_no_file(tmp_path: Path) -> None:
    """The space is reserved when a segment starts, so a full disk is an OSError there (the delivery is
    then kept in the database), never a fault in a copy into the map. Files over 1 MB stand for no room."""
    script = (
        "import resource, signal, sys; from datetime import datetime, UTC; from pathlib import Path;"
        "from storage.webhook_journal import JournalRecord, WebhookJournal;"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20));"
        "j = WebhookJournal(Path(sys.argv[1]));"
        "record = JournalRecord('intercom', datetime(2026, 11, 24, tzinfo=UTC), '{}', b'{}')\n"
        "try:\n    j.append(record)\nexcept OSError as error:\n    print(type(error).__name__)"
    )
    root = Path(__file__).resolve().parents[2]
    refused = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "journal")], cwd=root, capture_output=True, text=True, check=True
    )
    assert refused.stdout.strip() == "OSError"
    assert segments(tmp_path / "journal") == []


def test_a_segment_is_an_orphan_only_once_its_process_no_longer_holds_it(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    stored, waiting = journal.append(record(1)), journal.append(record(2))
    journal.stored([stored])
    (path,) = segments(tmp_path / "journal")
    with orphan(path) as records:
        assert records is None  # its process is alive and holds it
    journal.close()  # the process stops with a record not in the database: left for the sweep
    assert waiting.pending == 1
    with orphan(path) as records:
        assert records == [record(1), record(2)]  # the sweep stores both: the first is a duplicate
        with orphan(path) as again:
            assert again is None  # one sweep at a time


def test_a_killed_process_leaves_its_segment_to_the_sweep(tmp_path: Path) -> None:
    script = (
        "import os, sys; from datetime import datetime, UTC;"
        "from pathlib import Path;"
        "from storage.webhook_journal import JournalRecord, WebhookJournal;"
        "j = WebhookJournal(Path(sys.argv[1]));"
        "j.append(JournalRecord('intercom', datetime(2026, 11, 24, tzinfo=UTC), '{}', b'{}'));"
        "os.kill(os.getpid(), 9)"
    )
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "journal")], cwd=root, check=False)
    assert killed.returncode == -9
    (path,) = segments(tmp_path / "journal")
    with orphan(path) as records:
        assert records == [JournalRecord("intercom", datetime(2026, 11, 24, tzinfo=UTC), "{}", b"{}")]


def test_a_forked_child_appends_to_a_segment_of_its_own(tmp_path: Path) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    parents = journal.append(record(1))
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 0 if journal.append(record(2)) is not parents else 1
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(segments(tmp_path / "journal")) == 2


def test_a_record_stored_after_its_segment_was_let_go_at_the_stop_leaves_the_segment_to_the_sweep(
    tmp_path: Path,
) -> None:
    journal = WebhookJournal(tmp_path / "journal")
    late = journal.append(record(1))
    journal.close()  # the stop gave up waiting: the segment is the sweep's now, its fd closed
    unrelated = os.open(tmp_path / "unrelated", os.O_WRONLY | os.O_CREAT)  # may reuse the segment's fd number
    try:
        journal.stored([late])
        os.fstat(unrelated)  # still open: the segment's fd was not closed a second time
    finally:
        os.close(unrelated)
    assert read_all(tmp_path / "journal") == [record(1)]
