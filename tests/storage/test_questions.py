from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from jobs.question_bank import load_default_bank
from storage.db import make_session_factory, transaction
from storage.models import QuestionVersion
from storage.questions import current_versions, save_question, save_questions

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BANK = load_default_bank()


def test_seeding_the_bank_twice_stores_each_question_once(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert save_questions(session, BANK.all_questions(), NOW) == len(BANK.questions) + 1
    with transaction(factory) as session:
        assert save_questions(session, BANK.all_questions(), NOW) == 0
        assert current_versions(session)["enps"].scale == "enps"


def test_rewording_a_question_adds_a_version_and_keeps_the_old_one(engine: Engine) -> None:
    factory = make_session_factory(engine)
    original = BANK.by_driver("workload")[0]
    with transaction(factory) as session:
        save_question(session, original, NOW)
    reworded = replace(original, text="My workload fits in my working hours.")
    with transaction(factory) as session:
        row = save_question(session, reworded, NOW + timedelta(days=1))
        assert row is not None and row.version == 2
    with factory() as session:
        versions = session.scalars(
            select(QuestionVersion).where(QuestionVersion.key == original.key).order_by(QuestionVersion.version)
        ).all()
        assert [(v.version, v.text) for v in versions] == [(1, original.text), (2, reworded.text)]
        assert current_versions(session)[original.key].text == reworded.text
