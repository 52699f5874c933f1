"""A member's responses while a round is open: finding their delivery, their answers, their comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from storage.models import Answer, Comment, Delivery, Member, PulseRound
from storage.pulses import new_row_id
from storage.upsert import insert_for


@dataclass(frozen=True)
class MemberDelivery:
    delivery_id: int
    round_id: int
    group_no: int
    threshold: int
    closed: bool
    channel_id: str | None
    message_ts: str | None


def find_delivery(session: Session, round_id: int, slack_user_id: str, now: datetime) -> MemberDelivery | None:
    """The member's delivery in the round, or None when the round was never sent to them."""
    row = session.execute(
        select(
            Delivery.id,
            Delivery.round_id,
            Delivery.group_no,
            PulseRound.anonymity_threshold,
            PulseRound.closed_at,
            PulseRound.closes_at,
            Delivery.channel_id,
            Delivery.message_ts,
        )
        .join(PulseRound, PulseRound.id == Delivery.round_id)
        .join(Member, Member.id == Delivery.member_id)
        .where(Delivery.round_id == round_id, Member.slack_user_id == slack_user_id)
    ).first()
    if row is None:
        return None
    delivery_id, round_id, group_no, threshold, closed_at, closes_at, channel, ts = row
    closed = closed_at is not None or closes_at <= now
    return MemberDelivery(delivery_id, round_id, group_no, threshold, closed, channel, ts)


def delivery_answers(session: Session, delivery_id: int) -> dict[int, int | None]:
    rows = session.execute(select(Answer.question_id, Answer.value).where(Answer.delivery_id == delivery_id))
    return {question_id: value for question_id, value in rows}


def refresh_participation(session: Session, delivery_id: int) -> None:
    """The ledger: answered = gave at least one answer or a comment; skipped = only skipped."""
    answered = session.scalar(
        select(
            exists().where(Answer.delivery_id == delivery_id, Answer.value.is_not(None))
            | exists().where(Comment.delivery_id == delivery_id)
        )
    )
    skipped = not answered and session.scalar(select(exists().where(Answer.delivery_id == delivery_id)))
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(answered=answered, skipped=skipped))


def record_comment(
    session: Session, round_id: int, delivery_id: int, driver: str | None, text: str, polarity: float
) -> None:
    """One comment per delivery while the round is open: sending another replaces it."""
    table = Comment.__table__
    statement = insert_for(session, table).values(
        id=new_row_id(), round_id=round_id, delivery_id=delivery_id, driver=driver, text=text, polarity=polarity
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.delivery_id],
            set_={
                "driver": statement.excluded.driver,
                "text": statement.excluded.text,
                "polarity": statement.excluded.polarity,
            },
        )
    )
