"""a partial index of the members who cannot answer (left, or opted out)

/pulse status subtracts them from each team's size on every call; with 20,000 members the pass over
every member row was a quarter of the command's CPU (issue 4).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_members_unreachable",
        "members",
        ["id"],
        sqlite_where=sa.text("active IS 0 OR opted_out IS 1"),
        postgresql_where=sa.text("active IS false OR opted_out IS true"),
    )


def downgrade() -> None:
    op.drop_index("ix_members_unreachable", table_name="members")
