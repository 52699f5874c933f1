from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from jobs.pulse_schedule import (
    PulseSchedule,
    closes_at,
    due_at,
    member_zone,
    next_pulse_day,
    pulse_date,
    remind_at,
    still_in_window,
)

WEEKLY_TUESDAY = PulseSchedule()  # Tuesday 10:00-12:00 local, Monday to Friday
MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def test_the_cycle_day_is_the_teams_weekday_of_the_week_under_way():
    assert pulse_date(WEEKLY_TUESDAY, utc(MONDAY, 9)) == TUESDAY
    assert pulse_date(WEEKLY_TUESDAY, utc(TUESDAY + timedelta(days=3), 9)) == TUESDAY


def test_the_week_starts_where_the_day_starts_first_on_earth():
    sunday_evening_utc = utc(MONDAY - timedelta(days=1), 12)  # already Monday in UTC+14
    assert pulse_date(WEEKLY_TUESDAY, sunday_evening_utc) == TUESDAY


def test_every_other_week_skips_the_off_weeks_counted_from_the_anchor():
    biweekly = PulseSchedule(every_weeks=2, anchor=MONDAY)
    assert pulse_date(biweekly, utc(MONDAY, 9)) == TUESDAY
    assert pulse_date(biweekly, utc(MONDAY + timedelta(days=7), 9)) is None
    assert pulse_date(biweekly, utc(MONDAY + timedelta(days=14), 9)) == TUESDAY + timedelta(days=14)


def test_each_member_gets_it_at_the_window_start_in_their_own_time_zone():
    early = utc(MONDAY, 0)
    assert due_at(WEEKLY_TUESDAY, TUESDAY, "Asia/Tokyo", early) == utc(TUESDAY, 1)  # 10:00 JST
    assert due_at(WEEKLY_TUESDAY, TUESDAY, "America/New_York", early) == utc(TUESDAY, 15)  # 10:00 EST
    assert due_at(WEEKLY_TUESDAY, TUESDAY, "Europe/London", early) == utc(TUESDAY, 10)


def test_a_pulse_day_that_is_not_a_working_day_moves_to_the_next_working_day():
    saturday_team = PulseSchedule(weekday=6)
    saturday = TUESDAY + timedelta(days=4)
    assert due_at(saturday_team, saturday, "UTC", utc(MONDAY, 0)) == utc(saturday + timedelta(days=2), 10)


def test_a_member_whose_window_has_passed_gets_it_at_the_next_working_days_window_not_at_night():
    after_the_window = utc(TUESDAY, 13)
    assert due_at(WEEKLY_TUESDAY, TUESDAY, "UTC", after_the_window) == utc(TUESDAY + timedelta(days=1), 10)
    friday_evening = utc(TUESDAY + timedelta(days=3), 20)
    assert due_at(WEEKLY_TUESDAY, TUESDAY + timedelta(days=3), "UTC", friday_evening) == utc(
        TUESDAY + timedelta(days=6), 10
    )


def test_a_due_pulse_goes_now_inside_the_window_and_waits_for_the_next_one_outside_it():
    due = utc(TUESDAY, 10)
    assert still_in_window(WEEKLY_TUESDAY, due, "UTC", utc(TUESDAY, 11)) is None
    assert still_in_window(WEEKLY_TUESDAY, due, "UTC", utc(TUESDAY, 23)) == utc(TUESDAY + timedelta(days=1), 10)


def test_the_reminder_comes_the_next_working_day_at_the_same_local_time():
    sent = utc(TUESDAY, 15, 7)  # 10:07 in New York
    closes = closes_at(WEEKLY_TUESDAY, sent)
    assert remind_at(WEEKLY_TUESDAY, sent, "America/New_York", closes) == utc(TUESDAY + timedelta(days=1), 15, 7)
    friday = utc(TUESDAY + timedelta(days=3), 10)
    assert remind_at(WEEKLY_TUESDAY, friday, "UTC", friday + timedelta(days=5)) == friday + timedelta(days=3)


def test_there_is_no_reminder_when_it_would_come_after_the_close_or_is_turned_off():
    sent = utc(TUESDAY, 10)
    assert remind_at(WEEKLY_TUESDAY, sent, "UTC", sent + timedelta(hours=12)) is None
    assert remind_at(PulseSchedule(reminder_after_days=0), sent, "UTC", sent + timedelta(days=5)) is None


def test_an_unknown_time_zone_falls_back_to_utc():
    assert member_zone("Mars/Olympus_Mons").key == "UTC"
    assert member_zone(None).key == "UTC"


@pytest.mark.parametrize(
    "settings",
    [
        {"weekday": 0},
        {"window_start": time(12), "window_end": time(10)},
        {"every_weeks": 0},
        {"working_days": frozenset()},
    ],
)
def test_it_refuses_schedules_that_make_no_sense(settings):
    with pytest.raises(ValueError):
        PulseSchedule(**settings)


def test_the_next_pulse_day_is_this_weeks_until_it_has_passed() -> None:
    weekly = PulseSchedule(weekday=2)
    assert next_pulse_day(weekly, datetime(2026, 11, 23, 9, tzinfo=UTC)) == date(2026, 11, 24)
    assert next_pulse_day(weekly, datetime(2026, 11, 24, 9, tzinfo=UTC)) == date(2026, 11, 24)
    assert next_pulse_day(weekly, datetime(2026, 11, 25, 9, tzinfo=UTC)) == date(2026, 12, 1)


def test_the_next_pulse_day_skips_off_weeks() -> None:
    every_two = PulseSchedule(weekday=2, every_weeks=2, anchor=date(2026, 11, 23))
    assert next_pulse_day(every_two, datetime(2026, 11, 25, 9, tzinfo=UTC)) == date(2026, 12, 8)
