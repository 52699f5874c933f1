"""After a round closes, no stored row ties a person to an answer or a comment (DESIGN section 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Date, DateTime, Engine, inspect, select
from sqlalchemy.orm import Session

from jobs.members import member_from_slack
from jobs.question_bank import load_default_bank
from storage.db import make_session_factory, transaction
from storage.members import upsert_members
from storage.models import Answer, Comment, Delivery, Member, PulseRound, Team
from storage.pulses import close_round, new_row_id, record_answer
from storage.questions import current_versions, save_questions
from tests.slack_standin import make_user

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
K = 5


def open_round(session: Session, people: int) -> tuple[int, list[int], dict[str, int]]:
    """A team of `people` members with one delivery each in a freshly opened round (k = 5)."""
    upsert_members(session, [r for i in range(people) if (r := member_from_slack(make_user(i)))], NOW)
    team = Team(name="Support", created_at=NOW)
    session.add(team)
    session.flush()
    pulse = PulseRound(
        team_id=team.id,
        number=1,
        opened_on=date(2026, 11, 23),
        closes_at=NOW + timedelta(days=5),
        anonymity_threshold=K,
    )
    session.add(pulse)
    session.flush()
    deliveries = []
    for member in session.scalars(select(Member).order_by(Member.id)):
        delivery = Delivery(
            round_id=pulse.id, member_id=member.id, group_no=0, due_at=NOW, claimed_at=NOW, status="sent"
        )
        session.add(delivery)
        session.flush()
        deliveries.append(delivery.id)
    save_questions(session, load_default_bank().all_questions(), NOW)
    question_ids = {key: row.id for key, row in current_versions(session).items()}
    return pulse.id, deliveries, question_ids


def add_comment(session: Session, round_id: int, delivery_id: int, text: str) -> None:
    session.add(
        Comment(id=new_row_id(), round_id=round_id, driver="workload", text=text, polarity=0.1, delivery_id=delivery_id)
    )


def test_answers_and_comments_have_no_member_column_and_no_timestamp(engine: Engine) -> None:
    inspector = inspect(engine)
    for model in (Answer, Comment):
        columns = {c["name"]: c["type"] for c in inspector.get_columns(model.__tablename__)}
        assert not any("member" in name or "user" in name for name in columns)
        assert not any(isinstance(kind, DateTime | Date) for kind in columns.values())
        foreign = {fk["referred_table"] for fk in inspector.get_foreign_keys(model.__tablename__)}
        assert "members" not in foreign


def test_closing_erases_every_link_from_answers_and_comments_to_deliveries(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, 6)
        for value, delivery in enumerate(deliveries, start=1):
            record_answer(session, round_id, delivery, questions["workload.manageable"], value % 5 + 1)
            add_comment(session, round_id, delivery, f"comment {value}")
    with factory() as session:
        ids_before = set(session.scalars(select(Answer.id))) | set(session.scalars(select(Comment.id)))
    with transaction(factory) as session:
        report = close_round(session, round_id, NOW + timedelta(days=5))
    assert (report.answers_kept, report.comments_kept) == (6, 6)
    with factory() as session:
        answers = session.scalars(select(Answer)).all()
        comments = session.scalars(select(Comment)).all()
        assert [a.delivery_id for a in answers] == [None] * 6
        assert [c.delivery_id for c in comments] == [None] * 6
        assert sorted(a.value for a in answers) == sorted(v % 5 + 1 for v in range(1, 7))
        assert ids_before.isdisjoint({a.id for a in answers} | {c.id for c in comments})
        assert session.get_one(PulseRound, round_id).closed_at is not None


def test_an_answer_cell_with_fewer_than_k_respondents_is_not_kept(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, 6)
        for delivery in deliveries:
            record_answer(session, round_id, delivery, questions["growth.learning"], 4)
        for delivery in deliveries[:2]:
            record_answer(session, round_id, delivery, questions["autonomy.decide"], 1)
    with transaction(factory) as session:
        report = close_round(session, round_id, NOW)
    assert (report.answers_kept, report.answers_dropped) == (6, 2)
    with factory() as session:
        kept = set(session.scalars(select(Answer.question_id)))
    assert kept == {questions["growth.learning"]}


@pytest.mark.parametrize(("people", "kept"), [(4, 0), (5, 5)])
def test_comments_are_kept_only_when_at_least_k_people_took_part(engine: Engine, people: int, kept: int) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, people)
        for delivery in deliveries:
            record_answer(session, round_id, delivery, questions["wellbeing.energy"], 3)
            add_comment(session, round_id, delivery, "honest words")
    with transaction(factory) as session:
        assert close_round(session, round_id, NOW).comments_kept == kept


def test_changing_an_answer_while_the_round_is_open_keeps_one_row(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, 1)
        for value in (2, 4, 4):
            record_answer(session, round_id, deliveries[0], questions["alignment.why"], value)
    with factory() as session:
        assert [a.value for a in session.scalars(select(Answer))] == [4]


def test_skips_are_not_answers_and_are_dropped_when_the_round_closes(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, 6)
        for delivery in deliveries[:5]:
            record_answer(session, round_id, delivery, questions["growth.learning"], 3)
        record_answer(session, round_id, deliveries[5], questions["growth.learning"], None)
    with transaction(factory) as session:
        report = close_round(session, round_id, NOW)
    assert (report.answers_kept, report.answers_dropped) == (5, 0)
    with factory() as session:
        assert None not in set(session.scalars(select(Answer.value)))


def test_a_round_is_closed_once_even_when_two_processes_try(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        round_id, deliveries, questions = open_round(session, 5)
        for delivery in deliveries:
            record_answer(session, round_id, delivery, questions["growth.learning"], 3)
    with transaction(factory) as session:
        assert close_round(session, round_id, NOW) is not None
    with transaction(factory) as session:
        assert close_round(session, round_id, NOW + timedelta(minutes=1)) is None
    with factory() as session:
        assert len(session.scalars(select(Answer)).all()) == 5
