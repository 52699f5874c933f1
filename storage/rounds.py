"""Pulse rounds: opening one (once, whatever the number of processes), its questions and deliveries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Delivery, PulseRound, QuestionVersion, RoundQuestion
from storage.records import AskedQuestion
from storage.upsert import insert_for


def latest_round(session: Session, team_id: int) -> PulseRound | None:
    return session.scalars(
        # Imported history (`tandem import pulses`) is not a round the scheduler ran: never the latest.
        select(PulseRound)
        .where(PulseRound.team_id == team_id, PulseRound.imported.is_(False))
        .order_by(PulseRound.number.desc())
        .limit(1)
    ).first()


def insert_round(
    session: Session, team_id: int, opened_on: date, closes_at: datetime, threshold: int
) -> PulseRound | None:
    """Open the team's next round; None when another process opened it (or one for that day) first."""
    number = (session.scalar(select(func.max(PulseRound.number)).where(PulseRound.team_id == team_id)) or 0) + 1
    table = PulseRound.__table__
    round_id = session.execute(
        insert_for(session, table)
        .values(team_id=team_id, number=number, opened_on=opened_on, closes_at=closes_at, anonymity_threshold=threshold)
        .on_conflict_do_nothing()
        .returning(table.c.id)
    ).scalar()
    return None if round_id is None else session.get_one(PulseRound, round_id)


# The deliveries that reached the member: what they were asked (the rest never showed them a question).
ASKED_STATUSES = ("sending", "sent", "closed")


def member_history(session: Session, team_id: int, rounds: int) -> dict[int, list[list[str]]]:
    """Per member id, the question keys they were asked in each of the team's last `rounds` rounds they
    got, oldest first: through whichever rotation group they were in that round."""
    recent = (
        select(PulseRound.id, PulseRound.number)
        .where(PulseRound.team_id == team_id, PulseRound.imported.is_(False))
        .order_by(PulseRound.number.desc())
        .limit(rounds)
        .subquery()
    )
    rows = session.execute(
        select(Delivery.member_id, recent.c.number, QuestionVersion.key)
        .join(recent, recent.c.id == Delivery.round_id)
        .join(
            RoundQuestion, (RoundQuestion.round_id == Delivery.round_id) & (RoundQuestion.group_no == Delivery.group_no)
        )
        .join(QuestionVersion, QuestionVersion.id == RoundQuestion.question_id)
        .where(Delivery.status.in_(ASKED_STATUSES))
    )
    by_member: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for member_id, number, key in rows:
        by_member[member_id][number].append(key)
    return {member: [keys for _number, keys in sorted(per_round.items())] for member, per_round in by_member.items()}


def save_round_plan(
    session: Session,
    round_id: int,
    questions: Mapping[int, Iterable[int]],
    deliveries: Iterable[tuple[int, int, datetime]],
) -> int:
    """Store each group's question ids and one pending delivery per (member id, group, due time)."""
    question_rows = [
        {"round_id": round_id, "group_no": group, "question_id": question_id}
        for group, ids in questions.items()
        for question_id in ids
    ]
    if question_rows:
        session.execute(RoundQuestion.__table__.insert(), question_rows)
    delivery_rows = [
        {"round_id": round_id, "member_id": member_id, "group_no": group, "due_at": due, "status": "pending"}
        for member_id, group, due in deliveries
    ]
    if delivery_rows:
        session.execute(Delivery.__table__.insert(), delivery_rows)
    return len(delivery_rows)


def asked_questions(
    session: Session, round_id: int, group_no: int | None = None
) -> dict[int, tuple[AskedQuestion, ...]]:
    """Per group, the questions it is asked in the round: driver questions first, eNPS last."""
    query = (
        select(RoundQuestion.group_no, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == RoundQuestion.question_id)
        .where(RoundQuestion.round_id == round_id)
    )
    if group_no is not None:
        query = query.where(RoundQuestion.group_no == group_no)
    grouped: dict[int, list[AskedQuestion]] = defaultdict(list)
    for group, version in session.execute(query):
        grouped[group].append(AskedQuestion(version.id, version.driver, version.text, version.scale))
    return {
        group: tuple(sorted(questions, key=lambda q: (q.scale == "enps", q.question_id)))
        for group, questions in grouped.items()
    }
