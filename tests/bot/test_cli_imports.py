"""`tandem import tickets|pulses FILE.csv` as a user runs it: a real subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import pty
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, table

from bot.cli import main
from storage.db import make_session_factory, transaction
from storage.models import HelpdeskEvent, PulseRound
from storage.teams import create_team
from tests.cli_runner import TANDEM, run_tandem, tandem_env

QUIET = {"TANDEM_LOG_LEVEL": "WARNING"}
TICKETS_HEADER = "ticket_id,created_at,solved_at,agent_email,group,satisfaction"


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ticket_lines(count: int, start: int = 1) -> list[str]:
    return [
        f"{n},2025-04-01 09:00,2025-04-01 11:15,agent{n % 4}@example.com,Support,{n % 5 + 1}"
        for n in range(start, start + count)
    ]


@pytest.mark.parametrize("command", [["import"], ["import", "tickets"], ["import", "pulses"]])
def test_every_import_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: tandem import" in capsys.readouterr().out


def test_import_tickets_stores_each_event_once_however_often_the_file_is_imported(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    path = write(tmp_path, "tickets.csv", [TICKETS_HEADER, *ticket_lines(40)])
    first = run_tandem("import", "tickets", str(path), cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)
    second = run_tandem("import", "tickets", str(path), cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)

    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == "tickets: 40 rows read, 80 events stored (0 already there), 0 rows with errors\n"
    assert second.returncode == 0, second.stderr
    assert second.stdout == "tickets: 40 rows read, 0 events stored (80 already there), 0 rows with errors\n"
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(HelpdeskEvent)) == 80


def test_import_tickets_names_each_bad_row_by_line_imports_the_rest_and_exits_1(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    lines = [TICKETS_HEADER, *ticket_lines(3), "4,2025-04-01 09:00,2025-04-31 10:00,a@example.com,Support,", "5,x"]
    write(tmp_path, "tickets.csv", lines)
    result = run_tandem("import", "tickets", "tickets.csv", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)

    assert result.returncode == 1
    assert result.stdout == "tickets: 5 rows read, 6 events stored (0 already there), 2 rows with errors\n"
    assert result.stderr.splitlines() == [
        "tickets.csv, line 5: solved_at '2025-04-31 10:00' is not a time (use ISO 8601 or YYYY-MM-DD HH:MM:SS)",
        "tickets.csv, line 6: 2 cells where the header has 6 (a stray comma or quote?)",
        "tandem: 2 rows of tickets.csv were not imported (see above): fix them and import the file again "
        "(what was imported is skipped)",
    ]


def test_import_tickets_shows_the_first_20_errors_then_counts_the_rest(tmp_path: Path) -> None:
    lines = [TICKETS_HEADER, *(f"{n},2025-04-01,someday,,," for n in range(1, 26)), *ticket_lines(2, start=100)]
    write(tmp_path, "tickets.csv", lines)
    result = run_tandem("import", "tickets", "tickets.csv", cwd=tmp_path, **QUIET)
    errors = result.stderr.splitlines()
    assert result.returncode == 1
    assert errors[0] == "tickets.csv, line 2: solved_at 'someday' is not a time (use ISO 8601 or YYYY-MM-DD HH:MM:SS)"
    assert errors[19].startswith("tickets.csv, line 21: ")
    assert errors[20] == "… and 5 more rows with errors"
    assert result.stdout == "tickets: 27 rows read, 4 events stored (0 already there), 25 rows with errors\n"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["id,solved_at", "1,2025-04-01"], "tandem: t.csv: the header lacks the required column(s) ticket_id"),
        (["ticket_id,agent_email", "1,a@b.c"], "tandem: t.csv: the header has none of solved_at, reopened_at"),
        ([], "tandem: t.csv: the file is empty: its first line must name the columns"),
    ],
)
def test_import_tickets_exits_2_with_one_line_when_the_header_cannot_work(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    (tmp_path / "t.csv").write_text("\n".join(lines), encoding="utf-8")
    result = run_tandem("import", "tickets", "t.csv", cwd=tmp_path, **QUIET)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message)
    assert result.stdout == ""


@pytest.mark.parametrize("kind", ["tickets", "pulses"])
def test_import_exits_2_with_one_line_when_the_file_is_missing(tmp_path: Path, kind: str) -> None:
    result = run_tandem("import", kind, "nope.csv", cwd=tmp_path, **QUIET)
    assert (result.returncode, result.stderr) == (2, "tandem: nope.csv: no such file\n")
    assert not (tmp_path / "tandem.db").exists()


def test_import_tickets_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, "big.csv", [TICKETS_HEADER, *ticket_lines(12_000)])
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [TANDEM, "import", "tickets", "big.csv"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        env=tandem_env(**QUIET),
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        shown += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(controller)
    assert process.returncode == 0
    assert b"\rimporting big.csv:" in shown
    assert b"(5,000 rows)" in shown and b"(10,000 rows)" in shown
    assert b"\rimporting big.csv: 100% (12,000 rows)" in shown
    assert stdout.startswith("tickets: 12000 rows read, 24000 events stored")


PEOPLE = [f"Respondent-{i}@OldTool.example" for i in range(7)]


def add_team(engine: Engine, name: str, k: int) -> None:
    with transaction(make_session_factory(engine)) as session:
        create_team(session, name, datetime(2026, 1, 1, tzinfo=UTC), anonymity_threshold=k)


def test_import_pulses_stores_rounds_above_k_skips_the_rest_and_keeps_no_respondent(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    add_team(engine, "Support", k=5)
    rows = [f"support,2025-02-04,workload.manageable,{1 + i % 5},{p}" for i, p in enumerate(PEOPLE)]
    rows += [f"Support,2025-02-04,recognition,4,{p}" for p in PEOPLE[:3]]  # 3 people: below k, left out
    rows += [f"Support,2025-02-11,enps,{i},{p}" for i, p in enumerate(PEOPLE[:4])]  # 4 people: round skipped
    rows += ["Nobody,2025-02-11,enps,9,someone@x.example"]
    write(tmp_path, "pulses.csv", ["team,date,question,value,respondent", *rows])

    first = run_tandem("import", "pulses", "pulses.csv", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)
    second = run_tandem("import", "pulses", "pulses.csv", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)

    assert first.returncode == 1
    assert first.stdout.splitlines() == [
        "team Support, 2025-02-04: imported (round 1, 7 people, 7 answers; left out, fewer than 5 answered: "
        "recognition.noticed)",
        "team Support, 2025-02-11: skipped (only 4 people answered, fewer than 5)",
        "pulses: 15 rows read, 1 rounds imported with 7 answers (3 left out: question below k), 0 already there, "
        "1 skipped (below k), 1 rows with errors",
    ]
    assert (
        first.stderr.splitlines()[0] == "pulses.csv, line 16: there is no team named 'Nobody' (/pulse teams lists them)"
    )
    assert second.stdout.splitlines()[0] == "team Support, 2025-02-04: already there"
    with engine.connect() as connection:
        assert connection.execute(select(PulseRound.number, PulseRound.respondents)).all() == [(1, 7)]
        # Every cell of every table, whatever its type: no trace of who answered.
        cells = [
            str(value)
            for name in inspect(connection).get_table_names()
            for row in connection.execute(select("*").select_from(table(name)))
            for value in row
        ]
    assert any("Support" in cell for cell in cells)
    assert [cell for cell in cells if "respondent" in cell.lower() or "oldtool" in cell.lower()] == []


def test_import_pulses_exits_2_naming_the_missing_columns(tmp_path: Path) -> None:
    write(tmp_path, "pulses.csv", ["team,date,question,value", "Support,2025-02-04,enps,9"])
    result = run_tandem("import", "pulses", "pulses.csv", cwd=tmp_path, **QUIET)
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr
        == "tandem: pulses.csv: the header lacks the required column(s) respondent (see docs/imports.md)\n"
    )
