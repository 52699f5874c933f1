"""Rotation plans from what each member was asked (storage.rounds.member_history), through real rounds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from jobs.members import member_from_slack
from storage.db import transaction
from storage.members import upsert_members
from storage.models import Delivery, Member, QuestionVersion, RoundQuestion
from storage.rounds import member_history
from storage.teams import add_team_members
from tests.pulse_fixtures import make_world, run_round
from tests.slack_standin import SlackStandin, make_user

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def test_each_member_has_the_questions_of_the_groups_they_were_in_and_not_of_rounds_that_missed_them(
    engine: Engine, standin: SlackStandin
) -> None:
    world = make_world(engine, standin, START)
    team = world.add_team("Support", first_user=1, size=9)
    first = run_round(world, team)
    with transaction(world.factory) as session:  # one member's DM of round 1 never reached them
        missed = session.scalars(select(Delivery).where(Delivery.round_id == first).limit(1)).one()
        session.execute(update(Delivery).where(Delivery.id == missed.id).values(status="undeliverable"))
        missed_member = missed.member_id
    with transaction(world.factory) as session:  # a tenth joins: the team splits into two groups
        upsert_members(session, [member_from_slack(make_user(10, tz="Europe/London"))], world.now)
        newcomer = session.scalars(select(Member.id).where(Member.slack_user_id == "U00000010")).one()
        add_team_members(session, team, [newcomer])
    second = run_round(world, team)

    with world.factory() as session:
        history = member_history(session, team, 24)
        asked = {(round_id, group): set(keys) for round_id, group, keys in _round_questions(session, [first, second])}
        deliveries = session.execute(select(Delivery.member_id, Delivery.round_id, Delivery.group_no)).all()
    expected: dict[int, list[set[str]]] = {}
    for member, round_id, group in sorted(deliveries, key=lambda row: row[1]):
        if not (round_id == first and member == missed_member):
            expected.setdefault(member, []).append(asked[round_id, group])
    assert {member: [set(keys) for keys in rounds] for member, rounds in history.items()} == expected
    assert len(history[newcomer]) == 1 and len(history[missed_member]) == 1
    assert len({group for _m, round_id, group in deliveries if round_id == second}) == 2


def _round_questions(session: Session, round_ids: list[int]) -> list[tuple[int, int, list[str]]]:
    found: dict[tuple[int, int], list[str]] = {}
    rows = session.execute(
        select(RoundQuestion.round_id, RoundQuestion.group_no, QuestionVersion.key)
        .join(QuestionVersion, QuestionVersion.id == RoundQuestion.question_id)
        .where(RoundQuestion.round_id.in_(round_ids))
    )
    for round_id, group, key in rows:
        found.setdefault((round_id, group), []).append(key)
    return [(round_id, group, keys) for (round_id, group), keys in found.items()]
