"""helpdesk outcomes summed per week and attribution key, kept current by a trigger on helpdesk_events

The panel reads these sums instead of every event (issue 6: a year of 5.5 million events must not be
rescanned each week). A trigger, not application code, keeps them: every path that stores events (webhook
ingest, CSV imports in bulk SQL, the demo seed) is covered, in the same transaction as the events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEYS = "week, provider, group_key, agent_email, agent_id"
SUMS = "solved, reopened, rated, satisfied, first_response_times, resolution_times"
# Weeks counted from Monday 1970-01-05 (storage.panel_data.EPOCH_MONDAY), from a UTC timestamp.
SQLITE_WEEK = "CAST((julianday({at}) - 2440591.5) / 7 AS INTEGER)"
POSTGRES_WEEK = "CAST(floor((extract(epoch FROM {at}) - 345600) / 604800) AS INTEGER)"
SATISFIED = "CASE WHEN {e}.kind = 'rated' AND ({e}.rating_good = {true} OR {e}.rating_score >= 4) THEN 1 ELSE 0 END"


def _joined(column: str) -> str:
    """Comma-joined times of the existing row and the new ones, NULL while there are none."""
    return (
        f"{column} = CASE WHEN excluded.{column} IS NULL THEN helpdesk_weeks.{column} "
        f"WHEN helpdesk_weeks.{column} IS NULL THEN excluded.{column} "
        f"ELSE helpdesk_weeks.{column} || ',' || excluded.{column} END"
    )


UPSERT = f"ON CONFLICT ({KEYS}) DO UPDATE SET " + ", ".join(
    [
        *(
            f"{count} = helpdesk_weeks.{count} + excluded.{count}"
            for count in ("solved", "reopened", "rated", "satisfied")
        ),
        _joined("first_response_times"),
        _joined("resolution_times"),
    ]
)


def _summed(source: str, week: str, joined: str, true: str) -> str:
    """SELECT the sums of `source`'s events per week and key, in key order (so concurrent PostgreSQL
    transactions lock rows in the same order and never wait in a circle)."""
    return (
        f"SELECT {week.format(at='e.occurred_at')}, e.provider, coalesce(e.group_key, ''), "
        "coalesce(e.agent_email, ''), coalesce(e.agent_id, ''), "
        "sum(CASE WHEN e.kind = 'solved' THEN 1 ELSE 0 END), sum(CASE WHEN e.kind = 'reopened' THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN e.kind = 'rated' THEN 1 ELSE 0 END), sum({SATISFIED.format(e='e', true=true)}), "
        f"{joined.format(column='e.first_response_seconds')}, {joined.format(column='e.resolution_seconds')} "
        f"FROM {source} AS e GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    )


def upgrade() -> None:
    op.create_table(
        "helpdesk_weeks",
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("agent_email", sa.String(length=320), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("solved", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("first_response_times", sa.Text(), nullable=True),
        sa.Column("resolution_times", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "week", "provider", "group_key", "agent_email", "agent_id", name=op.f("pk_helpdesk_weeks")
        ),
    )
    if _postgres():
        joined = "string_agg(CAST({column} AS TEXT), ',')"
        summed = _summed("{source}", POSTGRES_WEEK, joined, "true")
        op.execute(f"INSERT INTO helpdesk_weeks ({KEYS}, {SUMS}) {summed.format(source='helpdesk_events')}")
        # Once per statement, over the rows it stored: a bulk import adds each key once, not per row.
        op.execute(
            "CREATE FUNCTION helpdesk_weeks_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO helpdesk_weeks ({KEYS}, {SUMS}) {summed.format(source='stored')} {UPSERT}; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER helpdesk_weeks_add AFTER INSERT ON helpdesk_events REFERENCING NEW TABLE AS stored "
            "FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_weeks_add()"
        )
        return
    joined = "group_concat({column}, ',')"
    op.execute(f"INSERT INTO helpdesk_weeks ({KEYS}, {SUMS}) {_summed('helpdesk_events', SQLITE_WEEK, joined, '1')}")
    # SQLite has row triggers only; an insert that skips a duplicate event (ON CONFLICT DO NOTHING) fires none.
    op.execute(
        "CREATE TRIGGER helpdesk_weeks_add AFTER INSERT ON helpdesk_events BEGIN "
        f"INSERT INTO helpdesk_weeks ({KEYS}, {SUMS}) VALUES ({SQLITE_WEEK.format(at='NEW.occurred_at')}, "
        "NEW.provider, coalesce(NEW.group_key, ''), coalesce(NEW.agent_email, ''), coalesce(NEW.agent_id, ''), "
        "NEW.kind = 'solved', NEW.kind = 'reopened', NEW.kind = 'rated', "
        f"{SATISFIED.format(e='NEW', true='1')}, "
        "CAST(NEW.first_response_seconds AS TEXT), CAST(NEW.resolution_seconds AS TEXT)) "
        f"{UPSERT}; END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS helpdesk_weeks_add" + (" ON helpdesk_events" if _postgres() else ""))
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS helpdesk_weeks_add()")
    op.drop_table("helpdesk_weeks")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
