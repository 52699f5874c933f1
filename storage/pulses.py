"""Pulse answers while a round is open, and the privacy-preserving close (docs/privacy-and-rotation.md)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import Answer, Comment, PulseRound
from storage.upsert import insert_for

_shuffler = random.SystemRandom()


def new_row_id() -> str:
    """Random, so neither a key nor its order says when (or by whom) a row was written."""
    return secrets.token_hex(16)


def record_answer(session: Session, round_id: int, delivery_id: int, question_id: int, value: int | None) -> None:
    """One answer per (delivery, question): a second click changes it, a retry changes nothing.

    None records a skip: it shows as skipped while the round is open and is dropped when it closes.
    """
    table = Answer.__table__
    statement = insert_for(session, table).values(
        id=new_row_id(), round_id=round_id, delivery_id=delivery_id, question_id=question_id, value=value
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.delivery_id, table.c.question_id], set_={"value": statement.excluded.value}
        )
    )


@dataclass(frozen=True)
class CloseReport:
    threshold: int
    answers_kept: int
    answers_dropped: int
    comments_kept: int
    comments_dropped: int


def rounds_due_to_close(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(select(PulseRound.id).where(PulseRound.closed_at.is_(None), PulseRound.closes_at <= now))
    )


def close_round(session: Session, round_id: int, now: datetime) -> CloseReport | None:
    """Close a round so that no stored row can be tied to a person; None if it was closed already.

    1. Answer cells (question of the round) with fewer than k respondents are deleted: they could never
       be shown, and with the participation ledger they could be attributed.
    2. Comments are kept only when at least k people took part in the round.
    3. What is kept is rewritten in random order under new random keys without the delivery pointer.
    """
    claimed = session.execute(
        update(PulseRound).where(PulseRound.id == round_id, PulseRound.closed_at.is_(None)).values(closed_at=now)
    )
    if not claimed.rowcount:
        return None
    pulse = session.get_one(PulseRound, round_id)
    k = pulse.anonymity_threshold
    counts = dict(
        session.execute(
            select(Answer.question_id, func.count(func.distinct(Answer.delivery_id)))
            .where(Answer.round_id == round_id, Answer.value.is_not(None))
            .group_by(Answer.question_id)
        ).all()
    )
    answers = session.execute(
        select(Answer.question_id, Answer.value).where(Answer.round_id == round_id, Answer.value.is_not(None))
    ).all()
    kept_answers = [(q, v) for q, v in answers if counts.get(q, 0) >= k]
    participants = set(
        session.scalars(select(Answer.delivery_id).where(Answer.round_id == round_id, Answer.delivery_id.is_not(None)))
    ) | set(
        session.scalars(
            select(Comment.delivery_id).where(Comment.round_id == round_id, Comment.delivery_id.is_not(None))
        )
    )
    comments = session.execute(
        select(Comment.driver, Comment.text, Comment.polarity).where(Comment.round_id == round_id)
    ).all()
    kept_comments = list(comments) if len(participants) >= k else []

    session.execute(delete(Answer).where(Answer.round_id == round_id))
    session.execute(delete(Comment).where(Comment.round_id == round_id))
    _shuffler.shuffle(kept_answers)
    _shuffler.shuffle(kept_comments)
    if kept_answers:
        session.execute(
            Answer.__table__.insert(),
            [
                {"id": new_row_id(), "round_id": round_id, "question_id": q, "value": v, "delivery_id": None}
                for q, v in kept_answers
            ],
        )
    if kept_comments:
        session.execute(
            Comment.__table__.insert(),
            [
                {"id": new_row_id(), "round_id": round_id, "driver": d, "text": t, "polarity": p, "delivery_id": None}
                for d, t, p in kept_comments
            ],
        )
    return CloseReport(
        threshold=k,
        answers_kept=len(kept_answers),
        answers_dropped=len(answers) - len(kept_answers),
        comments_kept=len(kept_comments),
        comments_dropped=len(comments) - len(kept_comments),
    )
