"""Pure: when a team's pulse is due, and when each member gets it, reminder and close, in local time.

A team pulses on one weekday every N weeks. Each member receives it on that day (or the next working
day, when that day is not one) at the start of the team's window in the member's own Slack time zone.
A member whose window has already passed when the round opens (Tandem was down, or the round was
opened late) gets it at the next working day's window instead: never at night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The earliest time zone on Earth (UTC+14): the first place where a calendar day starts.
EARLIEST_OFFSET = timedelta(hours=14)


@dataclass(frozen=True)
class PulseSchedule:
    weekday: int = 2  # ISO: Monday = 1 … Sunday = 7
    window_start: time = time(10, 0)
    window_end: time = time(12, 0)
    every_weeks: int = 1
    working_days: frozenset[int] = field(default_factory=lambda: frozenset({1, 2, 3, 4, 5}))
    reminder_after_days: int = 1  # working days; 0 = no reminder
    close_after_days: int = 5
    # Any date in a week the cadence counts from (every N weeks: weeks 0, N, 2N … after it).
    anchor: date = date(2026, 1, 5)

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7:
            raise ValueError("weekday must be 1 (Monday) to 7 (Sunday)")
        if not self.window_start < self.window_end:
            raise ValueError("the window must start before it ends")
        if self.every_weeks < 1 or self.close_after_days < 1 or self.reminder_after_days < 0:
            raise ValueError("every_weeks and close_after_days must be 1 or more, reminder_after_days 0 or more")
        if not self.working_days or not self.working_days <= set(range(1, 8)):
            raise ValueError("working days must be ISO weekdays 1-7, at least one")


def member_zone(tz: str | None) -> ZoneInfo:
    """The member's Slack time zone; UTC when Slack gave none or one this machine does not know."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def pulse_date(schedule: PulseSchedule, now: datetime) -> date | None:
    """The pulse day of the cycle under way somewhere on Earth at `now`, or None in an off week."""
    today = (now.astimezone(UTC) + EARLIEST_OFFSET).date()
    monday = today - timedelta(days=today.isoweekday() - 1)
    anchor_monday = schedule.anchor - timedelta(days=schedule.anchor.isoweekday() - 1)
    if ((monday - anchor_monday).days // 7) % schedule.every_weeks:
        return None
    return monday + timedelta(days=schedule.weekday - 1)


def first_working_day(schedule: PulseSchedule, day: date) -> date:
    while day.isoweekday() not in schedule.working_days:
        day += timedelta(days=1)
    return day


def due_at(schedule: PulseSchedule, day: date, tz: str | None, now: datetime) -> datetime:
    """When a member in `tz` gets the pulse of `day`: window start on the first working day from `day`,
    or, when that window has already ended at `now`, the next working day's window start."""
    zone = member_zone(tz)
    local_now = now.astimezone(zone)
    day = first_working_day(schedule, day)
    while True:
        start = datetime.combine(day, schedule.window_start, tzinfo=zone)
        end = datetime.combine(day, schedule.window_end, tzinfo=zone)
        if local_now < end:
            return start.astimezone(UTC)
        day = first_working_day(schedule, day + timedelta(days=1))


def still_in_window(schedule: PulseSchedule, due: datetime, tz: str | None, now: datetime) -> datetime | None:
    """None when a pulse due at `due` may go out at `now`; otherwise the later time it should go out
    (its window passed while Tandem was down, say: the DM never arrives at night)."""
    later = due_at(schedule, due.astimezone(member_zone(tz)).date(), tz, now)
    return None if later <= now else later


def remind_at(schedule: PulseSchedule, sent: datetime, tz: str | None, closes: datetime) -> datetime | None:
    """Same local time `reminder_after_days` working days after the send; None when that is too late."""
    if schedule.reminder_after_days == 0:
        return None
    zone = member_zone(tz)
    local = sent.astimezone(zone)
    day = local.date()
    for _ in range(schedule.reminder_after_days):
        day = first_working_day(schedule, day + timedelta(days=1))
    reminder = datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)
    return reminder if reminder < closes else None


def closes_at(schedule: PulseSchedule, opened: datetime) -> datetime:
    return opened + timedelta(days=schedule.close_after_days)


def next_pulse_day(schedule: PulseSchedule, now: datetime) -> date:
    """The first pulse day (moved to a working day) that is today or later in UTC: what admins are told."""
    today = now.astimezone(UTC).date()
    for weeks in range(schedule.every_weeks + 1):
        day = pulse_date(schedule, now + timedelta(weeks=weeks))
        if day is not None and first_working_day(schedule, day) >= today:
            return first_working_day(schedule, day)
    raise AssertionError("every cadence has a pulse day within every_weeks + 1 weeks")
