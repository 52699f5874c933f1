"""Bulk writes for `tandem import`: helpdesk events by the million, and imported pulse rounds.

The caller owns the transaction. Events go in as plain tuples (EVENT_COLUMNS order) straight to the
driver: SQLAlchemy's per-value processing costs more than the insert itself at this volume, so this
module formats values exactly as the column types would (a test compares both ways).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from storage.helpdesk_map import group_key
from storage.models import Answer, HelpdeskEvent, PulseRound
from storage.pulses import new_row_id
from storage.upsert import insert_for

EVENT_COLUMNS = (
    "provider",
    "event_key",
    "kind",
    "ticket_id",
    "occurred_at",
    "agent_email",
    "agent_id",
    "group_name",
    "rating_good",
    "rating_score",
    "ticket_created_at",
    "first_response_seconds",
    "resolution_seconds",
)
_STORED_COLUMNS = (*EVENT_COLUMNS, "group_key")
_OCCURRED, _GROUP = EVENT_COLUMNS.index("occurred_at"), EVENT_COLUMNS.index("group_name")
_GOOD, _CREATED = EVENT_COLUMNS.index("rating_good"), EVENT_COLUMNS.index("ticket_created_at")
_shuffler = random.SystemRandom()


def insert_events(session: Session, rows: Sequence[Sequence[Any]]) -> int:
    """Insert helpdesk events (EVENT_COLUMNS order, aware UTC times, no delivery); an event already stored
    (same provider and key) is skipped. Returns how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy_into_postgres(session, rows)
    return _insert_into_sqlite(session, rows)


def _insert_into_sqlite(session: Session, rows: Sequence[Sequence[Any]]) -> int:
    values = []
    last_created: datetime | None = None
    last_created_text: str | None = None
    for row in rows:
        value = list(row)
        value[_OCCURRED] = _sqlite_time(row[_OCCURRED])
        created = row[_CREATED]
        if created is not last_created:  # the events of one ticket share it: format it once
            last_created, last_created_text = created, None if created is None else _sqlite_time(created)
        value[_CREATED] = last_created_text
        good = row[_GOOD]
        value[_GOOD] = None if good is None else int(good)
        group = row[_GROUP]
        value.append(None if group is None else _group_key(group))
        values.append(tuple(value))
    placeholders = ", ".join("?" for _ in _STORED_COLUMNS)
    sql = (
        f"INSERT INTO {HelpdeskEvent.__tablename__} ({', '.join(_STORED_COLUMNS)}) VALUES ({placeholders}) "
        "ON CONFLICT DO NOTHING"
    )
    # sqlite3's executemany counts the rows each statement inserted; a skipped duplicate counts 0.
    return session.connection().exec_driver_sql(sql, values).rowcount


def _sqlite_time(value: datetime) -> str:
    """What storage.models.UTCDateTime writes on SQLite: UTC, 'YYYY-MM-DD HH:MM:SS.ffffff' (times are
    compared as text there, so the form must be exactly the same)."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime: Tandem stores aware UTC datetimes only")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _copy_into_postgres(session: Session, rows: Sequence[Sequence[Any]]) -> int:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING: several times
    faster than row-by-row inserts, and the insert's row count is exactly the new events."""
    columns = ", ".join(_STORED_COLUMNS)
    connection = session.connection()
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS tandem_import_events ON COMMIT DELETE ROWS AS "
        f"SELECT {columns} FROM {HelpdeskEvent.__tablename__} WITH NO DATA"
    )
    driver = connection.connection.driver_connection
    assert driver is not None  # a live psycopg connection inside the session's transaction
    cursor = driver.cursor()
    try:
        with cursor.copy(f"COPY tandem_import_events ({columns}) FROM STDIN") as copy:
            for row in rows:
                group = row[_GROUP]
                copy.write_row((*row, None if group is None else _group_key(group)))
    finally:
        cursor.close()
    result = connection.exec_driver_sql(
        f"INSERT INTO {HelpdeskEvent.__tablename__} ({columns}) SELECT {columns} FROM tandem_import_events "
        "ON CONFLICT DO NOTHING"
    )
    connection.exec_driver_sql("TRUNCATE tandem_import_events")
    return result.rowcount


@lru_cache(maxsize=4096)
def _group_key(name: str) -> str:
    # An export has a handful of group names repeated a million times.
    return group_key(name)


def rounds_on(session: Session, days: Iterable[tuple[int, date]]) -> set[tuple[int, date]]:
    """Which of these (team id, day) pairs already have a pulse round, imported or not."""
    wanted = list(days)
    found: set[tuple[int, date]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(PulseRound.team_id, PulseRound.opened_on).where(
                tuple_(PulseRound.team_id, PulseRound.opened_on).in_(chunk)
            )
        )
        found.update((team_id, opened_on) for team_id, opened_on in rows)
    return found


def insert_imported_round(
    session: Session, team_id: int, opened_on: date, closed_at: datetime, threshold: int, respondents: int
) -> PulseRound | None:
    """A closed round from another tool as the team's next number; None when the team has a round that day."""
    table = PulseRound.__table__
    # Two tries: a round the scheduler opens meanwhile can take the number (not the day) first.
    for _attempt in range(2):
        number = (session.scalar(select(func.max(PulseRound.number)).where(PulseRound.team_id == team_id)) or 0) + 1
        round_id = session.execute(
            insert_for(session, table)
            .values(
                team_id=team_id,
                number=number,
                opened_on=opened_on,
                closes_at=closed_at,
                closed_at=closed_at,
                anonymity_threshold=threshold,
                imported=True,
                respondents=respondents,
            )
            .on_conflict_do_nothing()
            .returning(table.c.id)
        ).scalar()
        if round_id is not None:
            return session.get_one(PulseRound, round_id)
        if session.scalar(
            select(PulseRound.id).where(PulseRound.team_id == team_id, PulseRound.opened_on == opened_on)
        ):
            return None
    raise RuntimeError(f"could not number an imported round of team {team_id}: rounds are being opened meanwhile")


def insert_answers(session: Session, round_id: int, answers: Sequence[tuple[int, int]]) -> None:
    """(question id, value) pairs of a closed round, written as close_round leaves them: random keys, no
    delivery, in random order (so neither key nor row order echoes the source file's order)."""
    rows = [
        {"id": new_row_id(), "round_id": round_id, "question_id": q, "value": v, "delivery_id": None}
        for q, v in answers
    ]
    _shuffler.shuffle(rows)
    if rows:
        session.execute(Answer.__table__.insert(), rows)
