"""weekly digests: when each team gets one, and the claim that makes it exactly one per team and week

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_weekday", sa.SmallInteger(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("digest_minute", sa.SmallInteger(), nullable=False, server_default="540"))
    op.create_table(
        "team_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_digests_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_digests")),
        sa.UniqueConstraint("team_id", "week", name=op.f("uq_team_digests_team_id")),
    )
    op.create_index(op.f("ix_team_digests_week"), "team_digests", ["week"], unique=False)
    # The panel sums answers per round and question: with value in the index that is an index-only scan.
    op.create_index("ix_answers_round_question_value", "answers", ["round_id", "question_id", "value"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_answers_round_question_value", table_name="answers")
    op.drop_index(op.f("ix_team_digests_week"), table_name="team_digests")
    op.drop_table("team_digests")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("digest_minute")
        batch_op.drop_column("digest_weekday")
