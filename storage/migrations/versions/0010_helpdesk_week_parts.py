"""helpdesk weekly sums split in parts of at most 256 events per attribution key

Each sum row keeps its events' times joined in one text, so that medians stay exact; 0008 kept one row per
week and key, and every event added to it rewrote the whole text. A busy helpdesk group took the
cost of a growing row on every webhook (measured: 0.26 ms more CPU a webhook at 18,000 events of one
group in a week). Now a row takes up to PART_EVENTS events, and the next event of the key starts a new
part. Readers sum the rows of a week and team as before; the parts change nothing they see.

The trigger picks the key's newest part, or the one after it once that is full. A bulk statement on
PostgreSQL (the trigger runs once per statement) adds all of its events of a key to one part, so one
row can hold more than PART_EVENTS, but only by what one statement stored.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 23:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _revision_0008() -> ModuleType:
    """The migration whose sums this one splits: its SQL pieces are reused, and its upgrade is the downgrade."""
    path = Path(__file__).with_name("0008_helpdesk_weeks.py")
    spec = importlib.util.spec_from_file_location("tandem_migration_0008", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0008 = _revision_0008()
PART_EVENTS = 256
KEYS = _0008.KEYS
COUNTS = ("events", "solved", "reopened", "rated", "satisfied")
TIMES = ("first_response_times", "resolution_times")
COLUMNS = f"{KEYS}, part, {', '.join(COUNTS)}, {', '.join(TIMES)}"
SQLITE_WEEK, POSTGRES_WEEK, SATISFIED = _0008.SQLITE_WEEK, _0008.POSTGRES_WEEK, _0008.SATISFIED
UPSERT = f"ON CONFLICT ({KEYS}, part) DO UPDATE SET " + ", ".join(
    [*(f"{count} = helpdesk_weeks.{count} + excluded.{count}" for count in COUNTS), *map(_0008._joined, TIMES)]
)


def _newest_part(row: str) -> str:
    """The part new events of `row`'s key go to: its newest, or the next once that one is full."""
    same_key = " AND ".join(f"w.{key} = {row}.{key}" for key in KEYS.split(", "))
    return (
        f"coalesce((SELECT CASE WHEN w.events >= {PART_EVENTS} THEN w.part + 1 ELSE w.part END "
        f"FROM helpdesk_weeks AS w WHERE {same_key} ORDER BY w.part DESC LIMIT 1), 0)"
    )


def _sums(e: str, joined: str, true: str) -> str:
    """The aggregates of the events `e` (a grouped SELECT's), named as the COUNTS and TIMES columns."""
    counted = [
        "count(*)",
        *(f"sum(CASE WHEN {e}.kind = '{kind}' THEN 1 ELSE 0 END)" for kind in ("solved", "reopened", "rated")),
        f"sum({SATISFIED.format(e=e, true=true)})",
        *(joined.format(column=f"{e}.{column}") for column in ("first_response_seconds", "resolution_seconds")),
    ]
    return ", ".join(f"{value} AS {name}" for value, name in zip(counted, (*COUNTS, *TIMES), strict=True))


def _keyed(source: str, week: str) -> str:
    """`source`'s events with their week and key columns ('' for a missing key part), and what is summed."""
    return (
        f"SELECT {week.format(at='s.occurred_at')} AS week, s.provider AS provider, "
        "coalesce(s.group_key, '') AS group_key, coalesce(s.agent_email, '') AS agent_email, "
        "coalesce(s.agent_id, '') AS agent_id, s.id, s.kind, s.rating_good, s.rating_score, "
        f"s.first_response_seconds, s.resolution_seconds FROM {source} AS s"
    )


def _refill(week: str, joined: str, true: str) -> str:
    """Every stored event summed again, PART_EVENTS a part in the order they were stored."""
    numbered = (
        f"SELECT k.*, (row_number() OVER (PARTITION BY {KEYS} ORDER BY k.id) - 1) / {PART_EVENTS} AS part "
        f"FROM ({_keyed('helpdesk_events', week)}) AS k"
    )
    return (
        f"INSERT INTO helpdesk_weeks ({COLUMNS}) SELECT {KEYS}, part, {_sums('e', joined, true)} "
        f"FROM ({numbered}) AS e GROUP BY {KEYS}, part ORDER BY {KEYS}, part"
    )


def upgrade() -> None:
    _0008.downgrade()  # its trigger, function and table of one row a key
    op.create_table(
        "helpdesk_weeks",
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("agent_email", sa.String(length=320), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        *(sa.Column(count, sa.Integer(), nullable=False) for count in COUNTS),
        *(sa.Column(times, sa.Text(), nullable=True) for times in TIMES),
        sa.PrimaryKeyConstraint(
            "week", "provider", "group_key", "agent_email", "agent_id", "part", name=op.f("pk_helpdesk_weeks")
        ),
    )
    if _postgres():
        joined = "string_agg(CAST({column} AS TEXT), ',')"
        op.execute(_refill(POSTGRES_WEEK, joined, "true"))
        # Once per statement, over the rows it stored, in key order (so concurrent transactions lock rows
        # in the same order and never wait in a circle).
        added = (
            f"SELECT {KEYS}, {_sums('e', joined, 'true')} FROM ({_keyed('stored', POSTGRES_WEEK)}) AS e GROUP BY {KEYS}"
        )
        op.execute(
            "CREATE FUNCTION helpdesk_weeks_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO helpdesk_weeks ({COLUMNS}) SELECT {KEYS}, {_newest_part('n')}, "
            f"{', '.join(COUNTS)}, {', '.join(TIMES)} FROM ({added}) AS n ORDER BY {KEYS} {UPSERT}; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER helpdesk_weeks_add AFTER INSERT ON helpdesk_events REFERENCING NEW TABLE AS stored "
            "FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_weeks_add()"
        )
        return
    op.execute(_refill(SQLITE_WEEK, "group_concat({column}, ',')", "1"))
    # SQLite has row triggers only; an insert that skips a duplicate event (ON CONFLICT DO NOTHING) fires none.
    # The key is computed into a one-row subquery first, so the newest part is looked up by it.
    op.execute(
        "CREATE TRIGGER helpdesk_weeks_add AFTER INSERT ON helpdesk_events BEGIN "
        f"INSERT INTO helpdesk_weeks ({COLUMNS}) SELECT {KEYS}, {_newest_part('n')}, "
        "1, NEW.kind = 'solved', NEW.kind = 'reopened', NEW.kind = 'rated', "
        f"{SATISFIED.format(e='NEW', true='1')}, "
        "CAST(NEW.first_response_seconds AS TEXT), CAST(NEW.resolution_seconds AS TEXT) "
        f"FROM (SELECT {SQLITE_WEEK.format(at='NEW.occurred_at')} AS week, NEW.provider AS provider, "
        "coalesce(NEW.group_key, '') AS group_key, coalesce(NEW.agent_email, '') AS agent_email, "
        f"coalesce(NEW.agent_id, '') AS agent_id) AS n WHERE true {UPSERT}; END"
    )


def downgrade() -> None:
    _0008.downgrade()  # the same names: this migration's trigger, function and table
    _0008.upgrade()


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
