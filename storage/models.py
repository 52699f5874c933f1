"""Typed SQLAlchemy models.

The member directory is the only place identity lives (DESIGN section 4). Tables for answers and
comments, added by later migrations, never carry a member id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints: Alembic's SQLite batch mode can only alter constraints that have names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in UTC on both backends (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Tandem stores aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Member(Base):
    """A person in the Slack workspace, as users.list and user_change events describe them."""

    __tablename__ = "members"
    # The few who cannot answer (left, or opted out), which /pulse status reads on every call: a partial
    # index instead of a pass over 20,000 rows. SQLite uses it only for a query whose WHERE is written
    # the same way, as storage/status.py's is: `active IS 0 OR opted_out IS 1`.
    __table_args__ = (
        Index(
            "ix_members_unreachable",
            "id",
            sqlite_where=text("active IS 0 OR opted_out IS 1"),
            postgresql_where=text("active IS false OR opted_out IS true"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    real_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Active = a human who is still in the workspace; only active, opted-in members are pulsed.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Added with `/pulse admin add`; workspace admins and owners are Tandem admins without it.
    tandem_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    teams: Mapped[list[Team]] = relationship(secondary="team_members", back_populates="members")


class Team(Base):
    """A team and its pulse settings. Times of day are in each member's own time zone."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime]
    # Weekly by default, on Tuesday between 10:00 and 12:00 local time (ISO weekday: Monday = 1).
    pulse_weekday: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    window_start_minute: Mapped[int] = mapped_column(SmallInteger, default=600, server_default="600")
    window_end_minute: Mapped[int] = mapped_column(SmallInteger, default=720, server_default="720")
    every_weeks: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    working_days: Mapped[str] = mapped_column(String(7), default="12345", server_default="12345")
    questions_per_pulse: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    anonymity_threshold: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
    reminder_after_days: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    close_after_days: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    manager_user_id: Mapped[str | None] = mapped_column(String(32))
    # Where the digest and alerts go, and whether Tandem could post there when last checked.
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_ok: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Membership: "manual" (added by admins), or following a Slack "usergroup" or "channel" (source_id).
    source_kind: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    source_id: Mapped[str | None] = mapped_column(String(32))
    source_synced_at: Mapped[datetime | None]
    # The weekly digest: ISO weekday and minute of the day, in the manager's time zone (Monday 9:00).
    digest_weekday: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    digest_minute: Mapped[int] = mapped_column(SmallInteger, default=540, server_default="540")

    members: Mapped[list[Member]] = relationship(secondary="team_members", back_populates="teams")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)


class ProcessedSlackEvent(Base):
    """Events API event ids already taken in, so Slack's retries are handled once."""

    __tablename__ = "processed_slack_events"
    # On SQLite the key is the table (no separate rowid tree): one B-tree write per claimed event.
    # No index on received_at: the daily prune scans a day of rows, while every event pays for an index.
    __table_args__ = {"sqlite_with_rowid": False}

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]


class JobRun(Base):
    """A scheduled job's run for one period, claimed before it starts so it runs once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(255), default="running")


class QuestionVersion(Base):
    """One wording of a question. Rewording adds a version; answers point at the version they answered."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    driver: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(300))
    scale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class PulseRound(Base):
    """One pulse of one team. `anonymity_threshold` is k as it was when the round opened."""

    __tablename__ = "pulse_rounds"
    # One round per team and day: two processes opening the same round collide here.
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        UniqueConstraint("team_id", "opened_on", name="uq_pulse_rounds_team_id_opened_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    anonymity_threshold: Mapped[int] = mapped_column(SmallInteger)
    # Rounds imported from another tool (`tandem import pulses`) have no deliveries: how many distinct
    # people answered is all that is known of who took part.
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    respondents: Mapped[int | None] = mapped_column(Integer)


class RoundQuestion(Base):
    """Which questions a rotation group of the round was asked (groups have at least k members)."""

    __tablename__ = "round_questions"

    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), primary_key=True)
    group_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)


class Delivery(Base):
    """A member's pulse in a round: the delivery log and the participation ledger in one row.

    It never says what the member answered. While the round is open, answer and comment rows point
    here so the member can change an answer; closing the round erases those pointers.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("round_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_no: Mapped[int] = mapped_column(SmallInteger)
    # pending -> sending -> sent -> closed, or failed (retried), undeliverable, opted_out, expired
    status: Mapped[str] = mapped_column(String(32), default="pending")
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(255))


class Answer(Base):
    """One answer: round and question version only. No member, no time; a random key, not a sequence."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("delivery_id", "question_id"),
        Index("ix_answers_round_question_value", "round_id", "question_id", "value"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    value: Mapped[int | None] = mapped_column(SmallInteger)  # None: skipped (dropped when the round closes)
    # Set while the round is open (so the member can change the answer); erased when it closes.
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))


class Comment(Base):
    """An optional comment: round and driver only, with its sentiment. Same rules as Answer.

    One per delivery while the round is open (sending it again replaces it).
    """

    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("delivery_id"), {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_rounds.id", ondelete="CASCADE"), index=True)
    driver: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    polarity: Mapped[float] = mapped_column(Float)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))


class WorkspaceSetting(Base):
    """Workspace-wide settings changed from Slack (the anonymity threshold new teams start with)."""

    __tablename__ = "workspace_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class AuditEntry(Base):
    """Who changed what, when: every configuration change made from Slack."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(String(500))


class HelpdeskAgent(Base):
    """A helpdesk agent's email mapped to a Slack member, so their tickets count for the member's teams."""

    __tablename__ = "helpdesk_agents"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class HelpdeskGroup(Base):
    """A helpdesk group (a Zendesk group, a Freshdesk group, an Intercom team…) counted for a Tandem team."""

    __tablename__ = "helpdesk_groups"

    name_key: Mapped[str] = mapped_column(String(255), primary_key=True)  # case-folded, spaces collapsed
    name: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """A helpdesk webhook as it arrived (after its signature checked out), kept before the 2xx is sent.

    Stored once per (provider, delivery_key): the provider's event id, or a hash of the content.
    `status`: received (kept; its outcome events not stored yet), parsed (stored, `events` of them new),
    ignored (valid, nothing for Tandem), or failed (kept for `tandem webhooks replay`).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("provider", "delivery_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    delivery_key: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]
    headers: Mapped[str] = mapped_column(Text)  # JSON object, lower-case names, credentials left out
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(String(255))
    events: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


class HelpdeskEvent(Base):
    """One customer outcome (solved, reopened, rated, replied) from a helpdesk or an imported CSV.

    Not attributed to a team when stored: attribution happens when it is read (agent email, learned agent
    id, helpdesk group -> team), so a mapping added later attributes earlier events too.
    """

    __tablename__ = "helpdesk_events"
    __table_args__ = (UniqueConstraint("provider", "event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(160))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    agent_email: Mapped[str | None] = mapped_column(String(320))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    group_key: Mapped[str | None] = mapped_column(String(255))  # storage.helpdesk_map.group_key of the group
    group_name: Mapped[str | None] = mapped_column(String(255))
    rating_good: Mapped[bool | None] = mapped_column(Boolean)
    rating_score: Mapped[int | None] = mapped_column(SmallInteger)
    ticket_created_at: Mapped[datetime | None]
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)


class HelpdeskWeek(Base):
    """Helpdesk outcomes summed per week and attribution key (provider, helpdesk group, agent email, agent
    id): what the panel reads instead of every event, so a digest costs teams x weeks, not tickets.

    Kept current by the database itself: a trigger on helpdesk_events (migration 0008) adds every stored
    event in the same transaction, whichever path stored it (webhooks, CSV imports, the demo seed). Keys
    stay raw, so attribution to teams still happens when read. Events are facts: nothing updates or
    deletes them, so the sums only ever grow. A missing key part is '' (a unique key
    cannot hold NULLs on both databases); `week` counts weeks from storage.panel_data.EPOCH_MONDAY; the
    times are the events' seconds joined by commas, so medians stay exact. A key's events are kept in
    parts of about 256 (`part`, counting `events`; migration 0010), so storing one rewrites a short text.
    """

    __tablename__ = "helpdesk_weeks"

    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    agent_email: Mapped[str] = mapped_column(String(320), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    solved: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    rated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    first_response_times: Mapped[str | None] = mapped_column(Text)
    resolution_times: Mapped[str | None] = mapped_column(Text)


class HelpdeskAgentId(Base):
    """A provider's agent id and the email it belongs to, learned from payloads that carry both."""

    __tablename__ = "helpdesk_agent_ids"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))


class TeamDigest(Base):
    """A team's digest of one ISO week (`week` is its Monday), claimed before it is posted: exactly one.

    `status`: posting (claimed; if it stays so, the post is looked for in the channel before retrying),
    posted (with the message ts), failed (Slack refused; retried on later ticks up to a limit).
    """

    __tablename__ = "team_digests"
    __table_args__ = (UniqueConstraint("team_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    week: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    claimed_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(255))
