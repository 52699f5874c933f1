"""Versioned questions. Functions take a Session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import QuestionVersion
from storage.records import Question


def current_versions(session: Session) -> dict[str, QuestionVersion]:
    """The newest version of every question, keyed by question key (retired ones included)."""
    newest = (
        select(QuestionVersion.key, func.max(QuestionVersion.version).label("version"))
        .group_by(QuestionVersion.key)
        .subquery()
    )
    rows = session.scalars(
        select(QuestionVersion).join(
            newest, (QuestionVersion.key == newest.c.key) & (QuestionVersion.version == newest.c.version)
        )
    )
    return {row.key: row for row in rows}


def save_question(session: Session, question: Question, now: datetime) -> QuestionVersion | None:
    """Store `question`: a new key gets version 1, new wording a new version; None when nothing changed."""
    current = current_versions(session).get(question.key)
    if current is not None and current.text == question.text:
        return None
    row = QuestionVersion(
        key=question.key,
        version=1 if current is None else current.version + 1,
        driver=question.driver,
        text=question.text,
        scale=question.scale,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def save_questions(session: Session, questions: Iterable[Question], now: datetime) -> int:
    """Store each question as `save_question` does; returns how many versions were added."""
    return sum(save_question(session, q, now) is not None for q in questions)


def seed_questions(session: Session, questions: Iterable[Question], now: datetime) -> int:
    """Add the questions whose keys are new. Existing ones keep the wording admins gave them."""
    known = set(session.scalars(select(QuestionVersion.key).distinct()))
    fresh = [q for q in questions if q.key not in known]
    for question in fresh:
        save_question(session, question, now)
    return len(fresh)


def active_questions(session: Session) -> list[Question]:
    """The current wording of every question that is not retired, by key."""
    return [
        Question(row.key, row.driver, row.text, row.scale)
        for row in sorted(current_versions(session).values(), key=lambda row: row.key)
        if row.retired_at is None
    ]


def add_custom_question(session: Session, driver: str, text: str, now: datetime) -> QuestionVersion:
    """A question admins wrote, keyed custom-1, custom-2 …"""
    customs = session.scalars(select(QuestionVersion.key).where(QuestionVersion.key.like("custom-%")).distinct())
    numbers = [int(key.removeprefix("custom-")) for key in customs if key.removeprefix("custom-").isdigit()]
    question = Question(f"custom-{max(numbers, default=0) + 1}", driver, text, "agreement")
    row = save_question(session, question, now)
    assert row is not None  # a new key always gets a first version
    return row


def retire_question(session: Session, key: str, now: datetime) -> None:
    current = current_versions(session)[key]
    current.retired_at = now
