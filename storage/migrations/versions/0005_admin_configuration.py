"""Tandem admins, team managers, digest channels and linked membership, audit log, helpdesk mapping

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tandem_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manager_user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_ok", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("source_kind", sa.String(length=16), nullable=False, server_default="manual"))
        batch_op.add_column(sa.Column("source_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("source_synced_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "workspace_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_workspace_settings")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
    op.create_table(
        "helpdesk_agents",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_helpdesk_agents_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_helpdesk_agents")),
    )
    op.create_index(op.f("ix_helpdesk_agents_member_id"), "helpdesk_agents", ["member_id"], unique=False)
    op.create_table(
        "helpdesk_groups",
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_helpdesk_groups_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_helpdesk_groups")),
    )
    op.create_index(op.f("ix_helpdesk_groups_team_id"), "helpdesk_groups", ["team_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_helpdesk_groups_team_id"), table_name="helpdesk_groups")
    op.drop_table("helpdesk_groups")
    op.drop_index(op.f("ix_helpdesk_agents_member_id"), table_name="helpdesk_agents")
    op.drop_table("helpdesk_agents")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("workspace_settings")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        for column in ("source_synced_at", "source_id", "source_kind", "channel_ok", "channel_id", "manager_user_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("tandem_admin")
