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
