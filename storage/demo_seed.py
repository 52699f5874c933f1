"""Write a synthetic organisation (jobs.demo_org.DemoOrg) to a migrated database, fast.

Seven million rows through SQLAlchemy's per-row parameter processing cost ~70 µs a row on a small
machine; the driver's own executemany with values already in the form the column types would bind
them in costs a third of that. So columns are converted whole (storage.demo_values: UTC datetimes in
SQLAlchemy's SQLite format, or aware datetimes for PostgreSQL) and inserted in chunks of CHUNK rows,
by cursor executemany on SQLite and COPY on PostgreSQL (psycopg), all in one transaction.

Ids the database assigns (members, teams, rounds) are read back by their natural keys. Answers and
comments get random keys like storage.pulses.new_row_id and carry no delivery: every round is closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, select

from storage.db import make_session_factory, transaction
from storage.demo_values import Columns, Values, shuffled
from storage.models import (
    Answer,
    Comment,
    Delivery,
    HelpdeskEvent,
    Member,
    PulseRound,
    QuestionVersion,
    RoundQuestion,
    Team,
    TeamMember,
)
from storage.questions import current_versions, seed_questions
from storage.records import Question

CHUNK = 50_000
SQLITE_SEED_CACHE_KIB = 256 * 1024  # a bigger page cache while seeding keeps the indexes being built in memory


class OrgFrames(Protocol):
    """What is seeded: jobs.demo_org.DemoOrg (described here, since storage never imports jobs)."""

    @property
    def questions(self) -> tuple[Question, ...]: ...

    @property
    def members(self) -> pd.DataFrame: ...

    @property
    def teams(self) -> pd.DataFrame: ...

    @property
    def memberships(self) -> pd.DataFrame: ...

    @property
    def rounds(self) -> pd.DataFrame: ...

    @property
    def round_questions(self) -> pd.DataFrame: ...

    @property
    def deliveries(self) -> pd.DataFrame: ...

    @property
    def answers(self) -> pd.DataFrame: ...

    @property
    def comments(self) -> pd.DataFrame: ...

    @property
    def helpdesk_events(self) -> pd.DataFrame: ...

    @property
    def ends_at(self) -> datetime: ...


@dataclass
class SeedReport:
    rows: dict[str, int] = field(default_factory=dict)  # per table, in insertion order
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def __str__(self) -> str:
        lines = [f"{name:<16} {count:>10,} rows {self.seconds[name]:>7.2f} s" for name, count in self.rows.items()]
        return "\n".join([*lines, f"{'total':<16} {self.total_rows:>10,} rows {self.total_seconds:>7.2f} s"])


def seed_org(engine: Engine, org: OrgFrames, now: datetime) -> SeedReport:
    """Insert the whole organisation, in one transaction, into a migrated database without teams or members.

    `now` (aware) stamps the created_at columns. It must not be before `org.ends_at`, so every round has
    opened and every helpdesk event has happened; a round whose closing time is still ahead closes at `now`.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if now < org.ends_at:
        raise ValueError(f"now ({now.isoformat()}) is before the organisation's last week ended ({org.ends_at})")
    report = SeedReport()
    with transaction(make_session_factory(engine)) as session:
        connection = session.connection()
        for model in (Team, Member):
            if connection.scalar(select(func.count()).select_from(model)):
                raise ValueError("seed_org needs a database without teams or members")
        with _big_cache(connection):
            started = time.perf_counter()
            seed_questions(session, org.questions, now)
            session.flush()
            question_id = {key: row.id for key, row in current_versions(session).items()}
            report.rows["questions"] = connection.scalar(select(func.count()).select_from(QuestionVersion)) or 0
            report.seconds["questions"] = time.perf_counter() - started
            _Seeder(connection, Values(connection.dialect.name, now), report).seed(org, question_id)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:  # hand the write-ahead log's space back after a big write
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return report


@contextmanager
def _big_cache(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_SEED_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={before}")


class _Seeder:
    def __init__(self, connection: Connection, values: Values, report: SeedReport) -> None:
        self.connection, self.values, self.report = connection, values, report

    def insert(self, table: Table, count: int, columns: Callable[[int, int], Columns]) -> None:
        """Rows [0, count) in chunks; `columns(start, stop)` gives each chunk's driver-ready column lists."""
        started = time.perf_counter()
        dialect = self.connection.dialect
        quote = dialect.identifier_preparer.quote
        target = dialect.identifier_preparer.format_table(table)
        for start in range(0, count, CHUNK):
            chunk = columns(start, min(start + CHUNK, count))
            names = ", ".join(quote(name) for name in chunk)
            rows = zip(*chunk.values(), strict=True)
            if dialect.driver == "psycopg":
                # COPY streams rows: psycopg's executemany costs ~10x more per row than SQLite's.
                raw = self.connection.connection.dbapi_connection
                assert raw is not None
                with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                continue
            marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * len(chunk))
            self.connection.exec_driver_sql(f"INSERT INTO {target} ({names}) VALUES ({marks})", list(rows))
        self.report.rows[table.name] = count
        self.report.seconds[table.name] = time.perf_counter() - started

    def ids(self, query: Any, keys: list[Any]) -> np.ndarray:
        """The database ids of `keys`, in their order, from rows of (key column(s)..., id)."""
        found = {row[0] if len(row) == 2 else tuple(row[:-1]): row[-1] for row in self.connection.execute(query)}
        return np.array([found[key] for key in keys], dtype=np.int64)

    def seed(self, org: OrgFrames, question_id: dict[str, int]) -> None:
        v, members, teams, links = self.values, org.members, org.teams, org.memberships
        self.insert(Member.__table__, len(members), lambda a, b: v.members(members[a:b]))
        member_id = self.ids(select(Member.slack_user_id, Member.id), members["slack_user_id"].tolist())
        self.insert(Team.__table__, len(teams), lambda a, b: v.teams(teams[a:b]))
        team_id = self.ids(select(Team.name, Team.id), teams["name"].tolist())
        self.insert(
            TeamMember.__table__,
            len(links),
            lambda a, b: {
                "team_id": v.ids(team_id, links["team"][a:b]),
                "member_id": v.ids(member_id, links["member"][a:b]),
            },
        )
        rounds = org.rounds
        self.insert(PulseRound.__table__, len(rounds), lambda a, b: v.rounds(rounds[a:b], team_id))
        keys = list(zip(team_id[rounds["team"]].tolist(), rounds["number"].tolist(), strict=True))
        round_id = self.ids(select(PulseRound.team_id, PulseRound.number, PulseRound.id), keys)
        question = np.array([question_id[key] for key in org.answers["question"].cat.categories])
        asked = org.round_questions
        self.insert(
            RoundQuestion.__table__,
            len(asked),
            lambda a, b: {
                "round_id": v.ids(round_id, asked["round"][a:b]),
                "group_no": asked["group_no"][a:b].tolist(),
                "question_id": v.ids(question, asked["question"].cat.codes[a:b]),
            },
        )
        deliveries = org.deliveries
        self.insert(
            Delivery.__table__, len(deliveries), lambda a, b: v.deliveries(deliveries[a:b], round_id, member_id)
        )
        answers, answer_keys = shuffled(org.answers)
        self.insert(
            Answer.__table__,
            len(answers),
            lambda a, b: {
                "id": answer_keys[a:b],
                "round_id": v.ids(round_id, answers["round"][a:b]),
                "question_id": v.ids(question, answers["question"].cat.codes[a:b]),
                "value": answers["value"][a:b].tolist(),
                "delivery_id": [None] * (b - a),
            },
        )
        comments, comment_keys = shuffled(org.comments)
        self.insert(
            Comment.__table__,
            len(comments),
            lambda a, b: {
                "id": comment_keys[a:b],
                "round_id": v.ids(round_id, comments["round"][a:b]),
                "driver": v.objects(comments["driver"][a:b]),
                "text": comments["text"][a:b].astype(str).tolist(),
                "polarity": comments["polarity"][a:b].tolist(),
                "delivery_id": [None] * (b - a),
            },
        )
        events = org.helpdesk_events
        self.insert(HelpdeskEvent.__table__, len(events), lambda a, b: v.events(events[a:b], a))
