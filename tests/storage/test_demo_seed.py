from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, func, select

from jobs.demo_org import DemoOrg, generate_org
from storage.attribution import event_teams
from storage.db import make_session_factory, transaction
from storage.demo_seed import seed_org
from storage.models import (
    Answer,
    Comment,
    Delivery,
    HelpdeskEvent,
    Member,
    PulseRound,
    QuestionVersion,
    RoundQuestion,
    Team,
    TeamMember,
)

END = date(2026, 11, 16)


@pytest.fixture(scope="module")
def org() -> DemoOrg:
    # Few tickets: attributing events (storage.helpdesk_events.event_teams) is the slow part on PostgreSQL.
    return generate_org(5, members=48, teams=4, weeks=7, end_week_monday=END, tickets_per_agent_week=3.0)


def test_the_organisation_lands_closed_anonymous_and_attributed_and_only_once(engine: Engine, org: DemoOrg) -> None:
    now = org.ends_at + timedelta(hours=3)
    report = seed_org(engine, org, now)

    counts = org.row_counts()
    tables = {
        "members": Member,
        "teams": Team,
        "team_members": TeamMember,
        "pulse_rounds": PulseRound,
        "round_questions": RoundQuestion,
        "deliveries": Delivery,
        "answers": Answer,
        "comments": Comment,
        "helpdesk_events": HelpdeskEvent,
    }
    expected = dict(zip(tables, [counts[name] for name in counts], strict=True))
    with transaction(make_session_factory(engine)) as session:
        stored = {name: session.scalar(select(func.count()).select_from(model)) for name, model in tables.items()}
        assert stored == expected
        assert {name: report.rows[name] for name in tables} == expected
        assert report.rows["questions"] == session.scalar(select(func.count()).select_from(QuestionVersion)) == 32

        # Closed rounds: no answer or comment points at a delivery, every delivery is closed.
        assert session.scalar(select(func.count()).where(Answer.delivery_id.is_not(None))) == 0
        assert session.scalar(select(func.count()).where(Comment.delivery_id.is_not(None))) == 0
        assert set(session.scalars(select(Delivery.status).distinct())) == {"closed"}
        rounds = session.scalars(select(PulseRound)).all()
        assert all(r.closed_at is not None and r.closed_at <= now and r.anonymity_threshold == 5 for r in rounds)
        numbers = sorted((r.team_id, r.number) for r in rounds)
        assert [n for _, n in numbers] == list(range(1, org.weeks + 1)) * len(org.teams)
        assert sorted(r.opened_on for r in rounds) == sorted(org.rounds["opened_on"].dt.date)
        answered = session.scalar(select(func.count()).where(Delivery.answered.is_(True)))
        assert answered == org.deliveries["answered"].sum()

        # Times come back aware, in UTC, as generated.
        first = session.scalar(select(func.min(HelpdeskEvent.occurred_at)))
        assert first is not None and first.tzinfo is not None
        assert pd.Timestamp(first) == org.helpdesk_events["occurred_at"].min().floor("us")
        team = session.scalars(select(Team).where(Team.name == "Support EMEA")).one()
        assert team.channel_ok and team.manager_user_id == org.teams.loc[0, "manager_user_id"]

        # Every helpdesk event is credited once, to the support team of the agent who handled it.
        credited = event_teams().subquery()
        rows = session.execute(
            select(Team.name, func.count()).join(credited, credited.c.team_id == Team.id).group_by(Team.name)
        ).all()
        per_team = {name: count for name, count in rows}
        support = org.teams.loc[org.teams["support"], "name"].tolist()
        assert sorted(per_team) == sorted(support)
        assert sum(per_team.values()) == len(org.helpdesk_events)
        emails = org.helpdesk_events["agent_email"].astype(str)
        team_of = dict(zip(org.members["email"], org.teams["name"].to_numpy()[org.members["team"]], strict=True))
        assert per_team == emails.map(team_of).value_counts().to_dict()

        # What a close keeps: each (round, question) cell has at least k answers, values on their scale.
        cells = session.execute(
            select(func.count(), func.min(Answer.value), func.max(Answer.value), QuestionVersion.scale)
            .join(QuestionVersion, QuestionVersion.id == Answer.question_id)
            .group_by(Answer.round_id, Answer.question_id, QuestionVersion.scale)
        ).all()
        assert min(n for n, *_ in cells) >= 5
        assert all(
            (1 <= low <= high <= 5) if scale == "agreement" else (0 <= low <= high <= 10)
            for _, low, high, scale in cells
        )

    with pytest.raises(ValueError, match="without teams"):
        seed_org(engine, org, datetime(2027, 1, 1, tzinfo=UTC))


def test_it_refuses_a_now_before_the_last_week_ended(org: DemoOrg) -> None:
    engine = create_engine("sqlite://")  # never reached: the times are checked first
    with pytest.raises(ValueError, match="before"):
        seed_org(engine, org, org.ends_at - timedelta(seconds=1))
    with pytest.raises(ValueError, match="aware"):
        seed_org(engine, org, org.ends_at.replace(tzinfo=None))
