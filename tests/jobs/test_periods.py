from __future__ import annotations

from datetime import UTC, datetime, time

from jobs.periods import Daily


def test_a_daily_job_belongs_to_todays_period_once_its_time_has_come() -> None:
    assert Daily(time(3, 0)).period_key(datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) == "2026-11-23"
    assert Daily(time(3, 0)).period_key(datetime(2026, 11, 23, 23, 59, tzinfo=UTC)) == "2026-11-23"


def test_before_its_time_a_daily_job_is_still_in_yesterdays_period() -> None:
    assert Daily(time(3, 0)).period_key(datetime(2026, 11, 23, 2, 59, tzinfo=UTC)) == "2026-11-22"
    assert Daily(time(3, 0)).period_key(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == "2026-12-31"
