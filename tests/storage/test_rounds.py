from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from storage.db import make_session_factory, transaction
from storage.models import PulseRound
from storage.rounds import insert_round, latest_round
from storage.teams import create_team

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_imported_history_is_never_the_latest_round_the_scheduler_looks_at(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        team = create_team(session, "Support", NOW)
        real = insert_round(session, team.id, date(2026, 11, 24), NOW, 5)
        assert real is not None
        # Imported after Tandem's first round, so it gets a higher number, yet it lies in the past.
        session.add(
            PulseRound(
                team_id=team.id,
                number=2,
                opened_on=date(2025, 3, 4),
                closes_at=NOW,
                closed_at=NOW,
                anonymity_threshold=5,
                imported=True,
                respondents=7,
            )
        )
        session.flush()
        latest = latest_round(session, team.id)
        assert latest is not None and latest.id == real.id
