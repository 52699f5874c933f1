from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.db import make_session_factory, transaction
from storage.slack_events import claim_slack_event, forget_slack_events_before

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_it_claims_an_event_id_only_the_first_time(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert claim_slack_event(session, "Ev0001", NOW) is True
    with transaction(factory) as session:
        assert claim_slack_event(session, "Ev0001", NOW) is False
        assert claim_slack_event(session, "Ev0002", NOW) is True


def test_concurrent_deliveries_of_one_event_give_exactly_one_claim(engine: Engine) -> None:
    factory = make_session_factory(engine)

    def claim(_: int) -> bool:
        with transaction(factory) as session:
            return claim_slack_event(session, "EvRACE", NOW)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(16)))
    assert results.count(True) == 1


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
