"""team pulse settings, delivery due times and attempts, skips, one comment per delivery

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TEAM_COLUMNS = (
    ("pulse_weekday", sa.SmallInteger(), "2"),
    ("window_start_minute", sa.SmallInteger(), "600"),
    ("window_end_minute", sa.SmallInteger(), "720"),
    ("every_weeks", sa.SmallInteger(), "1"),
    ("working_days", sa.String(length=7), "12345"),
    ("questions_per_pulse", sa.SmallInteger(), "3"),
    ("anonymity_threshold", sa.SmallInteger(), "5"),
    ("reminder_after_days", sa.SmallInteger(), "1"),
    ("close_after_days", sa.SmallInteger(), "5"),
)


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        for name, type_, default in TEAM_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=default))
        batch_op.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_pulse_rounds_team_id_opened_on", ["team_id", "opened_on"])

    # Deliveries so far were only ever written by tests; a due time of "when it was claimed" is right for them.
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("claimed_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    op.execute("UPDATE deliveries SET due_at = claimed_at")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f("ix_deliveries_due_at"), ["due_at"], unique=False)

    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.SmallInteger(), nullable=True)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_delivery_id")
        batch_op.create_unique_constraint(batch_op.f("uq_comments_delivery_id"), ["delivery_id"])


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_comments_delivery_id"), type_="unique")
        batch_op.create_index("ix_comments_delivery_id", ["delivery_id"], unique=False)
    op.execute("DELETE FROM answers WHERE value IS NULL")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.SmallInteger(), nullable=False)
    op.execute("UPDATE deliveries SET claimed_at = due_at WHERE claimed_at IS NULL")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_due_at"))
        batch_op.alter_column("claimed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column("remind_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("due_at")
    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.drop_constraint("uq_pulse_rounds_team_id_opened_on", type_="unique")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("paused")
        for name, _type, _default in reversed(TEAM_COLUMNS):
            batch_op.drop_column(name)
