"""The weekly sums per attribution key (storage.models.HelpdeskWeek) always equal the events they sum,
whichever path stored the events, and the migration that adds them sums the events stored before it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select, table

from storage.db import make_engine, make_session_factory, transaction
from storage.helpdesk_events import store_event_rows
from storage.helpdesk_map import group_key
from storage.imports import EVENT_COLUMNS, insert_events
from storage.migrate import downgrade, upgrade
from storage.models import HelpdeskEvent, HelpdeskWeek
from storage.panel_data import EPOCH_MONDAY, week_number

START = datetime(2026, 9, 28, tzinfo=UTC)  # a Monday: the events fall in the six weeks from here


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["solved", "reopened", "rated", "replied"]))
    return {
        "provider": draw(st.sampled_from(["zendesk", "generic"])),
        "event_key": f"e{draw(st.integers(0, 40))}",  # few keys: duplicates happen, and must add nothing
        "delivery_id": None,
        "kind": kind,
        "ticket_id": "t1",
        "occurred_at": START + timedelta(seconds=draw(st.integers(-3, 42 * 86400))),
        "agent_email": draw(st.sampled_from([None, "ana@example.com", "bo@example.com"])),
        "agent_id": draw(st.sampled_from([None, "7"])),
        **grouped(draw(st.sampled_from([None, "Billing Desk"]))),
        "rating_good": draw(st.sampled_from([None, True, False])) if kind == "rated" else None,
        "rating_score": draw(st.sampled_from([None, 1, 3, 4, 5])) if kind == "rated" else None,
        "ticket_created_at": None,
        "first_response_seconds": draw(st.none() | st.integers(0, 10**6)),
        "resolution_seconds": draw(st.none() | st.integers(0, 10**7)),
    }


def grouped(name: str | None) -> dict[str, str | None]:
    return {"group_name": name, "group_key": None if name is None else group_key(name)}


def plain_event(key: str, occurred_at: datetime, **values: Any) -> dict[str, Any]:
    return {
        "provider": "zendesk", "event_key": key, "delivery_id": None, "kind": "solved", "ticket_id": key,
        "occurred_at": occurred_at, "agent_email": "ana@example.com", "agent_id": None, **grouped(None),
        "rating_good": None, "rating_score": None, "ticket_created_at": None, "first_response_seconds": 60,
        "resolution_seconds": None, **values,
    }  # fmt: skip


def summed_in_python(rows: list[HelpdeskEvent]) -> dict[tuple, tuple]:
    """What the weekly sums should hold: the events grouped by week and key, times as multisets."""
    sums: dict[tuple, list] = {}
    for e in rows:
        key = (week_number(e.occurred_at.date()), e.provider, e.group_key or "", e.agent_email or "", e.agent_id or "")
        found = sums.setdefault(key, [0, 0, 0, 0, Counter(), Counter()])
        found[0] += e.kind == "solved"
        found[1] += e.kind == "reopened"
        found[2] += e.kind == "rated"
        found[3] += e.kind == "rated" and (e.rating_good is True or (e.rating_score or 0) >= 4)
        found[4].update([e.first_response_seconds] if e.first_response_seconds is not None else [])
        found[5].update([e.resolution_seconds] if e.resolution_seconds is not None else [])
    return {key: (*counts, +first, +resolution) for key, (*counts, first, resolution) in sums.items()}


def summed_by_the_database(engine: Engine) -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    """(the stored weekly sums, the parts of a key added up; the sums the stored events should give)."""
    with make_session_factory(engine)() as session:
        parts: dict[tuple, list] = {}
        for w in session.scalars(select(HelpdeskWeek)):
            found = parts.setdefault(
                (w.week, w.provider, w.group_key, w.agent_email, w.agent_id), [0, 0, 0, 0, Counter(), Counter()]
            )
            for index, value in enumerate((w.solved, w.reopened, w.rated, w.satisfied)):
                found[index] += value
            found[4] += times(w.first_response_times)
            found[5] += times(w.resolution_times)
        stored = {key: tuple(values) for key, values in parts.items()}
        return stored, summed_in_python(list(session.scalars(select(HelpdeskEvent))))


def times(joined: str | None) -> Counter:
    return Counter(int(value) for value in joined.split(",")) if joined else Counter()


def as_import_row(event: dict[str, Any]) -> tuple:
    return tuple(event[name] for name in EVENT_COLUMNS)


def test_a_week_number_counts_mondays_from_the_epoch_monday() -> None:
    assert week_number(EPOCH_MONDAY) == 0
    assert week_number(EPOCH_MONDAY + timedelta(days=6)) == 0
    assert week_number(EPOCH_MONDAY + timedelta(days=7)) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.tuples(st.sampled_from(["webhook", "import"]), st.lists(events(), max_size=12)), max_size=5))
def test_the_weekly_sums_equal_the_stored_events_whichever_path_stored_them(
    engine: Engine, batches: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        session.execute(delete(HelpdeskEvent))
        session.execute(delete(HelpdeskWeek))
    for path, batch in batches:
        with transaction(factory) as session:
            if path == "webhook":
                store_event_rows(session, batch)
            else:
                insert_events(session, [as_import_row(e) for e in batch if e["provider"] == "zendesk"])
    stored, expected = summed_by_the_database(engine)
    assert stored == expected


def test_a_rolled_back_insert_leaves_the_sums_as_they_were(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        store_event_rows(session, [plain_event("kept", START)])
    before, _ = summed_by_the_database(engine)
    with factory() as session:
        store_event_rows(session, [plain_event("dropped", START, kind="rated", rating_score=5)])
        session.rollback()
    assert summed_by_the_database(engine)[0] == before


def test_the_migration_sums_the_events_stored_before_it(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0007")
    rows = [
        plain_event(f"old{i}", START + timedelta(days=i), agent_email=f"agent{i % 3}@example.com", **grouped(group))
        for i, group in enumerate(["Billing Desk", None] * 15)
    ]
    with transaction(make_session_factory(engine)) as session:
        store_event_rows(session, rows)
    upgrade(engine)
    stored, expected = summed_by_the_database(engine)
    assert len(stored) > 1
    assert stored == expected
    engine.dispose()


def test_a_busy_keys_times_are_kept_in_parts_of_about_256_events(engine: Engine) -> None:
    factory = make_session_factory(engine)
    for batch in range(60):  # 600 events of one agent in one week, 10 a statement
        with transaction(factory) as session:
            store_event_rows(session, [plain_event(f"busy{batch}-{i}", START) for i in range(10)])
    with factory() as session:
        parts = {w.part: w for w in session.scalars(select(HelpdeskWeek))}
    # A part takes events until it holds 256; PostgreSQL adds a statement's events at once, so up to 9 more.
    assert sorted(parts) == [0, 1, 2]
    assert all(256 <= parts[n].events <= 265 for n in (0, 1))
    assert sum(w.events for w in parts.values()) == 600
    assert all(w.events == len(w.first_response_times.split(",")) == w.solved for w in parts.values())
    stored, expected = summed_by_the_database(engine)
    assert stored == expected


def test_the_parts_migration_sums_the_events_stored_before_it_and_its_downgrade_does_too(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0009")
    rows = [plain_event(f"old{i}", START, agent_email=f"agent{i % 2}@example.com") for i in range(600)]
    with transaction(make_session_factory(engine)) as session:
        store_event_rows(session, rows)
    upgrade(engine, "0010")
    stored, expected = summed_by_the_database(engine)
    assert stored == expected
    with make_session_factory(engine)() as session:  # 300 events of each agent: parts of 256 and 44
        assert (
            sorted(session.execute(select(HelpdeskWeek.part, HelpdeskWeek.events)).all())
            == [(0, 256)] * 2 + [(1, 44)] * 2
        )
    downgrade(engine, "0009")
    with engine.connect() as connection:  # one row a key again
        assert connection.scalar(select(func.count()).select_from(table("helpdesk_weeks"))) == 2
    upgrade(engine)
    assert summed_by_the_database(engine)[0] == expected
    engine.dispose()
