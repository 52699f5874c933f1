from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.db import make_session_factory, transaction
from storage.slack_events import claim_slack_events, forget_slack_events_before

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def claim_slack_event(session: Session, event_id: str, now: datetime) -> bool:
    return claim_slack_events(session, [event_id], now) == {event_id}


def test_it_claims_an_event_id_only_the_first_time(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert claim_slack_event(session, "Ev0001", NOW) is True
    with transaction(factory) as session:
        assert claim_slack_event(session, "Ev0001", NOW) is False
        assert claim_slack_event(session, "Ev0002", NOW) is True


def test_a_batch_with_one_id_twice_claims_it_once(engine: Engine) -> None:
    with transaction(make_session_factory(engine)) as session:
        assert claim_slack_events(session, ["EvA", "EvB", "EvA"], NOW) == {"EvA", "EvB"}


def test_it_forgets_event_ids_older_than_the_cutoff(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        claim_slack_event(session, "EvOld", NOW - timedelta(days=2))
        claim_slack_event(session, "EvNew", NOW)
    with transaction(factory) as session:
        assert forget_slack_events_before(session, NOW - timedelta(days=1)) == 1
    with transaction(factory) as session:
        assert claim_slack_event(session, "EvOld", NOW) is True
        assert claim_slack_event(session, "EvNew", NOW) is False
