"""Deliveries: each (round, member) DM is claimed here before it is sent, so it is sent at most once.

Status flow: pending -> sending -> sent -> closed. A send that failed for a passing reason goes back
to `failed` (tried again, up to MAX_ATTEMPTS); `undeliverable` (the person left, or cannot get DMs),
`opted_out` and `expired` (the round closed first) are final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery, Member, PulseRound

MAX_ATTEMPTS = 3
SENDABLE = ("pending", "failed")


@dataclass(frozen=True)
class DueDelivery:
    id: int
    round_id: int
    team_id: int
    group_no: int
    due_at: datetime
    closes_at: datetime
    threshold: int
    slack_user_id: str
    tz: str
    reachable: bool  # active and not opted out


@dataclass(frozen=True)
class SendOutcome:
    delivery_id: int
    status: str  # sent | failed | undeliverable
    channel_id: str | None = None
    message_ts: str | None = None
    sent_at: datetime | None = None
    remind_at: datetime | None = None
    error: str | None = None


def _delivery_query() -> Select:
    return (
        select(
            Delivery.id,
            Delivery.round_id,
            PulseRound.team_id,
            Delivery.group_no,
            Delivery.due_at,
            PulseRound.closes_at,
            PulseRound.anonymity_threshold,
            Member.slack_user_id,
            Member.tz,
            and_(Member.active.is_(True), Member.opted_out.is_(False)).label("reachable"),
        )
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .join(Member, Member.id == Delivery.member_id)
    )


def due_deliveries(
    session: Session,
    now: datetime | None,
    limit: int,
    team_ids: Sequence[int] | None = None,
    round_ids: Sequence[int] | None = None,
    tried_since: datetime | None = None,
) -> list[DueDelivery]:
    """Unsent deliveries of open rounds due by `now`, leaving out those claimed at or after `tried_since`
    (a failure is tried again by a later run, not straight away by the same one)."""
    query = (
        _delivery_query()
        .where(
            Delivery.status.in_(SENDABLE),
            Delivery.attempts < MAX_ATTEMPTS,
            PulseRound.closed_at.is_(None),
        )
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
    )
    if tried_since is not None:
        query = query.where(or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < tried_since))
    if now is not None:  # None: every unsent pulse of the open rounds, whatever its due time
        query = query.where(Delivery.due_at <= now)
    if team_ids is not None:
        query = query.where(PulseRound.team_id.in_(list(team_ids)))
    if round_ids is not None:
        query = query.where(Delivery.round_id.in_(list(round_ids)))
    return [DueDelivery(*row) for row in session.execute(query)]


def claim_deliveries(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Mark the still-sendable ones of `ids` as being sent by this process; returns those it got."""
    if not ids:
        return []
    return list(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(list(ids)), Delivery.status.in_(SENDABLE))
            .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
            .returning(Delivery.id)
        )
    )


def postpone_deliveries(session: Session, new_due: Iterable[tuple[int, datetime]]) -> None:
    for delivery_id, due in new_due:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.status.in_(SENDABLE)).values(due_at=due)
        )


def set_status(session: Session, ids: Sequence[int], status: str, only_from: Sequence[str] = SENDABLE) -> int:
    if not ids:
        return 0
    result = session.execute(
        update(Delivery).where(Delivery.id.in_(list(ids)), Delivery.status.in_(list(only_from))).values(status=status)
    )
    return result.rowcount or 0


def record_outcomes(session: Session, outcomes: Iterable[SendOutcome]) -> None:
    """Store what each send did. A member Slack will not deliver to is marked inactive (skipped from now on)."""
    outcomes = list(outcomes)
    if not outcomes:
        return
    table = Delivery.__table__
    # One statement run with many parameter sets (executemany), not one compiled statement per row.
    statement = (
        table.update()
        .where(table.c.id == bindparam("delivery_id"), table.c.status == "sending")
        .values(
            status=bindparam("new_status"),
            channel_id=bindparam("new_channel"),
            message_ts=bindparam("new_ts"),
            sent_at=bindparam("new_sent_at"),
            remind_at=bindparam("new_remind_at"),
            error=bindparam("new_error"),
        )
    )
    session.execute(
        statement,
        [
            {
                "delivery_id": o.delivery_id,
                "new_status": o.status,
                "new_channel": o.channel_id,
                "new_ts": o.message_ts,
                "new_sent_at": o.sent_at,
                "new_remind_at": o.remind_at,
                "new_error": o.error[:255] if o.error else None,
            }
            for o in outcomes
        ],
    )
    undeliverable = [o.delivery_id for o in outcomes if o.status == "undeliverable"]
    if undeliverable:
        members = select(Delivery.member_id).where(Delivery.id.in_(undeliverable)).scalar_subquery()
        session.execute(update(Member).where(Member.id.in_(members)).values(active=False))


def stale_sends(session: Session, claimed_before: datetime) -> list[tuple[DueDelivery, datetime]]:
    """Sends a process claimed and never finished (it crashed), with the time each was claimed."""
    query = _delivery_query().add_columns(Delivery.claimed_at)
    rows = session.execute(query.where(Delivery.status == "sending", Delivery.claimed_at < claimed_before))
    return [(DueDelivery(*row[:-1]), row[-1]) for row in rows]


@dataclass(frozen=True)
class Reminder:
    delivery_id: int
    channel_id: str
    message_ts: str
    closes_at: datetime
    tz: str


def claim_reminders(session: Session, now: datetime, limit: int = 500) -> list[Reminder]:
    """Sent pulses still unanswered whose reminder time has come; each is claimed so it is reminded once."""
    rows = session.execute(
        select(Delivery.id, Delivery.channel_id, Delivery.message_ts, PulseRound.closes_at, Member.tz)
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .join(Member, Member.id == Delivery.member_id)
        .where(
            Delivery.status == "sent",
            Delivery.remind_at <= now,
            Delivery.reminded_at.is_(None),
            Delivery.answered.is_(False),
            Delivery.skipped.is_(False),
            PulseRound.closed_at.is_(None),
            Member.opted_out.is_(False),
        )
        .limit(limit)
    ).all()
    if not rows:
        return []
    claimed = set(
        session.scalars(
            update(Delivery)
            .where(Delivery.id.in_([row[0] for row in rows]), Delivery.reminded_at.is_(None))
            .values(reminded_at=now)
            .returning(Delivery.id)
        )
    )
    return [Reminder(*row) for row in rows if row[0] in claimed]


@dataclass(frozen=True)
class ClosedDelivery:
    channel_id: str
    message_ts: str
    took_part: bool


def close_deliveries(session: Session, round_id: int) -> list[ClosedDelivery]:
    """At close: sent DMs are claimed for their closed-state update; unsent ones expire."""
    closed = session.execute(
        update(Delivery)
        .where(Delivery.round_id == round_id, Delivery.status == "sent")
        .values(status="closed")
        .returning(Delivery.channel_id, Delivery.message_ts, Delivery.answered)
    ).all()
    session.execute(
        update(Delivery)
        .where(Delivery.round_id == round_id, Delivery.status.in_((*SENDABLE, "sending")))
        .values(status="expired")
    )
    return [ClosedDelivery(channel, ts, bool(answered)) for channel, ts, answered in closed if channel and ts]
