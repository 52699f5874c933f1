"""The import use cases on SQLite and PostgreSQL: rows in, events and closed rounds stored, once, privately."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, Text, select, text
from sqlalchemy.orm import Session

from jobs.imports.csv_rows import HeaderError
from jobs.imports.pulses import import_pulses
from jobs.imports.ticket_rows import EventRow
from jobs.imports.tickets import import_tickets
from jobs.question_bank import load_default_bank
from storage.db import SessionFactory, make_session_factory, transaction
from storage.helpdesk_events import store_events
from storage.imports import insert_events
from storage.models import Answer, Base, HelpdeskEvent, PulseRound
from storage.questions import current_versions
from storage.rounds import insert_round
from storage.teams import create_team

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BANK = load_default_bank()
PEOPLE = [f"person-{i}@oldtool.example" for i in range(8)]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_team(factory: SessionFactory, name: str, k: int = 5) -> int:
    with transaction(factory) as session:
        return create_team(session, name, NOW, anonymity_threshold=k).id


def ticket_file(tmp_path: Path, tickets: int = 30) -> Path:
    # Ticket n is solved n % 10 hours and a half after it was opened; two in three are rated good.
    rows = [
        f"{n},2025-05-01T08:00:00Z,2025-05-01T{8 + n % 10:02d}:30:00Z,,ann@example.com,Support,{'good' * (n % 3 > 0)}"
        for n in range(1, tickets + 1)
    ]
    header = "ticket_id,created_at,solved_at,reopened_at,agent_email,group,satisfaction"
    return write(tmp_path, "tickets.csv", [header, *rows])


def test_ticket_rows_become_events_in_batches_and_a_second_import_stores_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(engine)
    path = ticket_file(tmp_path)
    seen: list[tuple[str, int, float]] = []

    first = import_tickets(factory, path, lambda *args: seen.append(args), batch_rows=7)
    second = import_tickets(factory, path, batch_rows=7)

    assert first.summary() == "tickets: 30 rows read, 50 events stored (0 already there), 0 rows with errors"
    assert second.summary() == "tickets: 30 rows read, 0 events stored (50 already there), 0 rows with errors"
    assert [count for _what, count, _fraction in seen] == [7, 14, 21, 28, 30]
    assert seen[-1] == ("rows", 30, 1.0)
    with factory() as session:
        events = session.scalars(select(HelpdeskEvent).where(HelpdeskEvent.ticket_id == "4")).all()
    solved = next(e for e in events if e.kind == "solved")
    assert (solved.provider, solved.delivery_id, solved.group_key) == ("import", None, "support")
    assert solved.occurred_at == datetime(2025, 5, 1, 12, 30, tzinfo=UTC)
    assert solved.resolution_seconds == 4.5 * 3600
    assert next(e for e in events if e.kind == "rated").rating_good is True


def test_rows_with_errors_are_reported_by_line_and_the_others_are_imported(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tickets.csv",
        [
            "ticket_id,solved_at,satisfaction",
            "1,2025-05-01 10:00,bad",
            "2,soon,",
            ",2025-05-01 10:00,",
            "",
            "4,2025-05-01 10:00,7",
            "5,2025-05-01 10:00,",
        ],
    )
    report = import_tickets(make_session_factory(engine), path)
    assert report.errors.shown == [
        (3, "solved_at 'soon' is not a time (use ISO 8601 or YYYY-MM-DD HH:MM:SS)"),
        (4, "ticket_id is empty"),
        (6, "satisfaction '7' is not good, bad or a score from 1 to 5"),
    ]
    assert report.summary() == "tickets: 5 rows read, 3 events stored (0 already there), 3 rows with errors"


def test_a_file_that_stops_being_utf8_keeps_the_rows_before_and_names_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    good = "".join(f"{n},2025-05-01 10:00\n" for n in range(1, 4))
    path.write_bytes(b"ticket_id,solved_at\n" + good.encode() + b"4,2025-05-01 10:00\xff\xfe\n" + b"x" * 20000)
    report = import_tickets(make_session_factory(engine), path)
    assert report.stopped == "reading stopped: line 5 is not UTF-8 text (save or export the file as CSV UTF-8)"
    assert (report.rows, report.stored) == (3, 3)


def test_a_header_without_ticket_id_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(HeaderError, match="ticket_id"):
        import_tickets(make_session_factory(engine), write(tmp_path, "t.csv", ["id,solved_at", "1,2025-05-01"]))


def test_bulk_inserted_events_are_stored_exactly_as_the_webhook_path_stores_them(engine: Engine) -> None:
    at = datetime(2025, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    row = EventRow("zendesk", "k1", "rated", "7", at, "a@b.c", "9", "Tier  2", False, None, at, None, 60)
    with transaction(make_session_factory(engine)) as session:
        assert insert_events(session, [row, row._replace(event_key="k2")]) == 2
        assert insert_events(session, [row]) == 0
        store_events(session, "webhook", None, [{**row._asdict(), "group_key": "tier 2"} | {"provider": "webhook"}])
    columns = [c for c in HelpdeskEvent.__table__.c if c.name not in ("id", "provider", "event_key")]
    names = ", ".join(c.name for c in columns)
    with engine.connect() as connection:
        # Compared as the database holds them (SQLite compares times as text: the form must match).
        stored = connection.execute(text(f"SELECT provider, {names} FROM helpdesk_events WHERE event_key = 'k1'"))
        by_provider = {provider: tuple(values) for provider, *values in stored}
    assert by_provider["zendesk"] == by_provider["webhook"]


def pulse_file(tmp_path: Path, rows: list[tuple[str, str, str, int, str]]) -> Path:
    lines = ["team,date,question,value,respondent", *(",".join(map(str, row)) for row in rows)]
    return write(tmp_path, "pulses.csv", lines)


def history(team: str = "Support") -> list[tuple[str, str, str, int, str]]:
    """Two rounds: June 3 (six people; workload.pace answered by only two) and June 10 (three people)."""
    june3 = [(team, "2025-06-03", "workload.manageable", 1 + i % 5, p) for i, p in enumerate(PEOPLE[:6])]
    june3 += [(team, "2025-06-03", "enps", 9, p) for p in PEOPLE[:6]]
    june3 += [(team, "2025-06-03", "workload.pace", 2, p) for p in PEOPLE[:2]]
    june10 = [(team, "2025-06-10", "workload", 4, p) for p in PEOPLE[:3]]
    return june3 + june10


def test_pulse_history_becomes_closed_imported_rounds_that_keep_only_what_k_people_answered(
    engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(engine)
    team_id = add_team(factory, "Support", k=5)
    with transaction(factory) as session:  # a round Tandem ran itself, before the import
        insert_round(session, team_id, date(2025, 9, 2), NOW, 5)

    report = import_pulses(factory, pulse_file(tmp_path, history("SUPPORT")), BANK, NOW)

    assert [o.line() for o in report.rounds] == [
        "team Support, 2025-06-03: imported (round 2, 6 people, 12 answers; left out, fewer than 5 answered: "
        "workload.pace)",
        "team Support, 2025-06-10: skipped (only 3 people answered, fewer than 5)",
    ]
    assert report.summary() == (
        "pulses: 17 rows read, 1 rounds imported with 12 answers (2 left out: question below k), "
        "0 already there, 1 skipped (below k), 0 rows with errors"
    )
    with factory() as session:
        pulse = session.scalars(select(PulseRound).where(PulseRound.imported.is_(True))).one()
        answers = session.scalars(select(Answer).where(Answer.round_id == pulse.id)).all()
        keys = {row.id: key for key, row in current_versions(session).items()}
    assert (pulse.number, pulse.opened_on, pulse.respondents, pulse.anonymity_threshold) == (
        2,
        date(2025, 6, 3),
        6,
        5,
    )
    assert pulse.closed_at == pulse.closes_at == datetime(2025, 6, 4, tzinfo=UTC)
    assert sorted((keys[a.question_id], a.value) for a in answers) == sorted(
        [("workload.manageable", 1 + i % 5) for i in range(6)] + [("enps", 9)] * 6
    )
    assert all(a.delivery_id is None and len(a.id) == 32 for a in answers)


def test_importing_pulse_history_again_finds_every_round_already_there(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    add_team(factory, "Support", k=3)
    path = pulse_file(tmp_path, history())
    first = import_pulses(factory, path, BANK, NOW)
    second = import_pulses(factory, path, BANK, NOW)
    assert [o.status for o in first.rounds] == ["imported", "imported"]
    assert [o.status for o in second.rounds] == ["already there", "already there"]
    with factory() as session:
        assert session.scalar(select(PulseRound.number).order_by(PulseRound.number.desc()).limit(1)) == 2
        assert len(session.scalars(select(Answer)).all()) == first.answers == 6 + 6 + 3


def test_no_respondent_identifier_is_stored_anywhere_after_a_pulse_import(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    add_team(factory, "Support", k=3)
    import_pulses(factory, pulse_file(tmp_path, history()), BANK, NOW)
    with Session(engine) as session:
        stored = [
            value
            for table in Base.metadata.sorted_tables
            for column in table.c
            if isinstance(column.type, String | Text)
            for value in session.scalars(select(column))
            if value
        ]
    assert stored  # the dump did read something (team and question names at least)
    assert not [value for value in stored if "person-" in value or "oldtool" in value]


def test_pulse_rows_with_errors_are_reported_by_line_and_the_other_rows_still_make_rounds(
    engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(engine)
    add_team(factory, "Support", k=3)
    rows = [("Support", "2025-06-10", "workload", 4, p) for p in PEOPLE[:3]]
    rows += [("Nobody", "2025-06-10", "workload", 4, "x"), ("Support", "2025-06-10", "workload", 9, "y")]
    rows += [("Support", "2025-06-10", "workload.manageable", 2, PEOPLE[0].upper())]
    report = import_pulses(factory, pulse_file(tmp_path, rows), BANK, NOW)
    assert report.errors.shown == [
        (5, "there is no team named 'Nobody' (/pulse teams lists them)"),
        (6, "value 9 is outside 1-5 for workload.manageable"),
        (7, "this respondent already answered workload.manageable for that team and date (line 2)"),
    ]
    assert [o.status for o in report.rounds] == ["imported"]


def test_a_date_on_which_tandem_itself_ran_the_teams_round_is_left_alone(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    team_id = add_team(factory, "Support", k=3)
    with transaction(factory) as session:
        own = insert_round(session, team_id, date(2025, 6, 3), NOW, 3)
        assert own is not None
    report = import_pulses(factory, pulse_file(tmp_path, history()), BANK, NOW)
    assert [(o.day, o.status) for o in report.rounds] == [("2025-06-03", "already there"), ("2025-06-10", "imported")]
    with factory() as session:
        assert session.scalars(select(Answer).where(Answer.round_id == own.id)).all() == []
        assert session.get_one(PulseRound, own.id).imported is False
