"""Columns of the demo organisation converted whole to what the database driver takes (storage.demo_seed).

The forms are the ones the models' column types bind: on SQLite, UTC datetimes as SQLAlchemy's DATETIME
text ("2026-11-16 10:00:00.000000") and dates as "2026-11-16"; on PostgreSQL, aware UTC datetimes and
dates. Everything else is a plain Python value; missing is None.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DATETIME stores
Columns = dict[str, list[Any]]


def shuffled(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows in random order under ascending random keys (32 hex digits, like storage.pulses.new_row_id).

    As after storage.pulses.close_round, neither a row's key nor its place says anything about it; and
    since the keys ascend, the primary-key index is written at its end instead of all over.
    """
    raw = np.frombuffer(os.urandom(16 * len(frame)), dtype=">u8").reshape(-1, 2)
    digits = raw[np.lexsort((raw[:, 1], raw[:, 0]))].tobytes().hex()
    keys = [digits[i : i + 32] for i in range(0, len(digits), 32)]
    order = np.random.default_rng(int.from_bytes(os.urandom(8))).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True), keys


class Values:
    """Driver-ready column lists for one backend; `now` stamps the created_at columns."""

    def __init__(self, dialect: str, now: datetime) -> None:
        self.sqlite = dialect == "sqlite"
        self.now = now.astimezone(UTC).strftime(SQLITE_DATETIME) if self.sqlite else now.astimezone(UTC)
        self.now_ns = pd.Timestamp(now).as_unit("ns").value

    def times(self, column: pd.Series | pd.DatetimeIndex) -> list[Any]:
        index = pd.DatetimeIndex(column)
        missing = index.isna()
        if self.sqlite:
            text = np.datetime_as_string(index.tz_convert(None).to_numpy(), unit="us")  # 2026-11-16T10:00:00.000000
            if len(text):
                text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the T, in place: no per-value call
            values: list[Any] = text.tolist()
        else:
            micros = np.where(missing, 0, index.asi8 // 1000).tolist()
            values = [EPOCH + timedelta(microseconds=us) for us in micros]
        if missing.any():
            values = [None if gap else value for value, gap in zip(values, missing.tolist(), strict=True)]
        return values

    def days(self, column: pd.Series) -> list[Any]:
        """Dates, from naive midnight datetimes."""
        if self.sqlite:
            return np.datetime_as_string(column.to_numpy(dtype="datetime64[D]"), unit="D").tolist()
        return [moment.date() for moment in column.dt.to_pydatetime()]

    @staticmethod
    def ids(lookup: np.ndarray, positions: pd.Series) -> list[int]:
        return lookup[positions.to_numpy()].tolist()

    @staticmethod
    def objects(column: pd.Series) -> list[Any]:
        """Nullable booleans and integers, or categories with NaN: Python values, None where missing."""
        return column.to_numpy(dtype=object, na_value=None).tolist()

    def members(self, frame: pd.DataFrame) -> Columns:
        count = len(frame)
        columns: Columns = {
            name: frame[name].tolist() for name in ("slack_user_id", "name", "real_name", "email", "tz")
        }
        for flag in ("is_admin", "is_owner", "is_guest", "is_bot", "is_deleted", "opted_out", "tandem_admin"):
            columns[flag] = [False] * count
        return columns | {"active": [True] * count, "created_at": [self.now] * count, "updated_at": [self.now] * count}

    def teams(self, frame: pd.DataFrame) -> Columns:
        count = len(frame)
        return {
            "name": frame["name"].tolist(),
            "created_at": [self.now] * count,
            "pulse_weekday": frame["pulse_weekday"].tolist(),
            "window_start_minute": [600] * count,
            "window_end_minute": [720] * count,
            "every_weeks": [1] * count,
            "working_days": ["12345"] * count,
            "questions_per_pulse": [3] * count,
            "anonymity_threshold": frame["k"].tolist(),
            "reminder_after_days": [1] * count,
            "close_after_days": [5] * count,
            "paused": [False] * count,
            "manager_user_id": frame["manager_user_id"].tolist(),
            "channel_id": frame["channel_id"].tolist(),
            "channel_ok": [True] * count,
            "source_kind": ["manual"] * count,
        }

    def rounds(self, frame: pd.DataFrame, team_id: np.ndarray) -> Columns:
        closes = pd.DatetimeIndex(frame["closes_at"])
        closed = pd.DatetimeIndex(np.minimum(closes.asi8, self.now_ns).view("datetime64[ns]")).tz_localize(UTC)
        return {
            "team_id": self.ids(team_id, frame["team"]),
            "number": frame["number"].tolist(),
            "opened_on": self.days(frame["opened_on"]),
            "closes_at": self.times(closes),
            "closed_at": self.times(closed),
            "anonymity_threshold": frame["k"].tolist(),
            "imported": [False] * len(frame),
        }

    def deliveries(self, frame: pd.DataFrame, round_id: np.ndarray, member_id: np.ndarray) -> Columns:
        count, sent = len(frame), self.times(frame["sent_at"])
        return {
            "round_id": self.ids(round_id, frame["round"]),
            "member_id": self.ids(member_id, frame["member"]),
            "group_no": frame["group_no"].tolist(),
            "status": ["closed"] * count,
            "due_at": self.times(frame["due_at"]),
            "attempts": [1] * count,
            "claimed_at": sent,
            "sent_at": sent,
            "answered": frame["answered"].tolist(),
            "skipped": frame["skipped"].tolist(),
        }

    def events(self, frame: pd.DataFrame, first: int) -> Columns:
        """`first`: the number of the frame's first event, which its event key carries."""
        count, kinds, tickets = len(frame), frame["kind"].astype(str).tolist(), frame["ticket"].tolist()
        return {
            "provider": ["generic"] * count,
            # Numbered in time order, so the unique (provider, event_key) index grows at its end.
            "event_key": [f"demo-{number:09d}" for number in range(first, first + count)],
            "kind": kinds,
            "ticket_id": [str(ticket) for ticket in tickets],
            "occurred_at": self.times(frame["occurred_at"]),
            "agent_email": frame["agent_email"].astype(str).tolist(),
            "rating_good": self.objects(frame["rating_good"]),
            "rating_score": self.objects(frame["rating_score"]),
            "ticket_created_at": self.times(frame["ticket_created_at"]),
            "first_response_seconds": self.objects(frame["first_response_seconds"]),
            "resolution_seconds": self.objects(frame["resolution_seconds"]),
        }
