"""Pure: one row of a helpdesk ticket export -> the outcome events it says happened (docs/imports.md).

A ticket row becomes up to three events: solved (at solved_at), reopened (at reopened_at) and rated (at
rated_at, or solved_at). Each event's key is made of the ticket, the kind and the time, so importing the
same export again, or a later export that overlaps it, stores each event once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from jobs.imports.csv_rows import Header, HeaderError, RowError, check_width, parse_count, parse_time, read_header

TICKET_COLUMNS = (
    "ticket_id",
    "created_at",
    "solved_at",
    "reopened_at",
    "first_response_seconds",
    "first_response_minutes",
    "resolution_seconds",
    "agent_email",
    "agent_id",
    "group",
    "satisfaction",
    "rated_at",
    "source",
)
REQUIRED_COLUMNS = ("ticket_id",)
OUTCOME_COLUMNS = ("solved_at", "reopened_at", "satisfaction")
DEFAULT_SOURCE = "import"

# Helpdesks export satisfaction as good/bad (Zendesk adds "with comment") or as a 1-5 score; a survey
# that was offered but not answered is no rating at all.
RATINGS: dict[str, tuple[bool | None, int | None]] = {
    "good": (True, None),
    "bad": (False, None),
    "goodwithcomment": (True, None),
    "badwithcomment": (False, None),
    **{str(score): (None, score) for score in range(1, 6)},
}
NO_RATING = frozenset({"", "offered", "unoffered", "notoffered", "none", "-"})
SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,15}")
# Column sizes of helpdesk_events: a longer value is an error, not a silent cut.
LIMITS = {"ticket_id": 64, "agent_email": 320, "agent_id": 64, "group": 255}


class EventRow(NamedTuple):
    """One helpdesk_events row as plain values (storage.imports.EVENT_COLUMNS, same order)."""

    provider: str
    event_key: str
    kind: str
    ticket_id: str
    occurred_at: datetime
    agent_email: str | None
    agent_id: str | None
    group_name: str | None
    rating_good: bool | None
    rating_score: int | None
    ticket_created_at: datetime | None
    first_response_seconds: int | None
    resolution_seconds: int | None


def ticket_header(cells: Sequence[str] | None) -> Header:
    header = read_header(cells, TICKET_COLUMNS, REQUIRED_COLUMNS)
    if not any(column in header.index for column in OUTCOME_COLUMNS):
        raise HeaderError(f"the header has none of {', '.join(OUTCOME_COLUMNS)}: no row could say what happened")
    return header


def ticket_events(header: Header, cells: Sequence[str]) -> list[EventRow]:
    """The events of one row (none for a ticket still open and unrated); RowError when a cell is wrong."""
    check_width(header, cells)
    # Unpacked in TICKET_COLUMNS order: one pass over the row (this runs a million times in a large import).
    (
        ticket, created_text, solved_text, reopened_text, first_seconds, first_minutes, resolution_text,
        email_text, agent_id, group, satisfaction, rated_text, source_text,
    ) = header.values(cells)  # fmt: skip
    if not ticket:
        raise RowError("ticket_id is empty")
    if len(ticket) > 64 or len(email_text) > 320 or len(agent_id) > 64 or len(group) > 255:  # LIMITS, inlined
        raise RowError(_too_long(ticket, email_text, agent_id, group))
    email = email_text.lower() or None
    if email is not None and "@" not in email:
        raise RowError(f"agent_email {email_text!r} is not an email address")
    source = source_text.lower() or DEFAULT_SOURCE
    if not SOURCE_PATTERN.fullmatch(source):
        raise RowError(f"source {source!r} is not a name of up to 16 letters, digits, '.', '_' or '-'")

    created = parse_time(created_text, "created_at") if created_text else None
    solved = parse_time(solved_text, "solved_at") if solved_text else None
    reopened = parse_time(reopened_text, "reopened_at") if reopened_text else None
    rated = parse_time(rated_text, "rated_at") if rated_text else solved
    good, score = _rating(satisfaction) if satisfaction else (None, None)
    if (good is not None or score is not None) and rated is None:
        raise RowError("satisfaction needs rated_at or solved_at to say when it was given")
    if created is not None and solved is not None and solved < created:
        raise RowError("solved_at is before created_at")
    first = _first_response(first_seconds, first_minutes)
    resolution = parse_count(resolution_text, "resolution_seconds") if resolution_text else None
    if resolution is None and created is not None and solved is not None:
        resolution = int((solved - created).total_seconds())

    agent, team_group = agent_id or None, group or None
    events = []
    # The key is the ticket, the kind and the time as Unix seconds: 10:00Z and 11:00+01:00 are one event
    # (and the number is much cheaper to make than an ISO string, a million times over).
    if solved is not None:
        key = f"import:{ticket}:solved:{int(solved.timestamp())}"
        events.append(
            EventRow(
                source, key, "solved", ticket, solved, email, agent, team_group, None, None, created, first, resolution
            )
        )
    if reopened is not None:
        key = f"import:{ticket}:reopened:{int(reopened.timestamp())}"
        events.append(
            EventRow(
                source, key, "reopened", ticket, reopened, email, agent, team_group, None, None, created, None, None
            )
        )
    if rated is not None and (good is not None or score is not None):
        key = f"import:{ticket}:rated:{int(rated.timestamp())}"
        events.append(
            EventRow(source, key, "rated", ticket, rated, email, agent, team_group, good, score, created, None, None)
        )
    return events


def _too_long(*texts: str) -> str:
    name, limit = next((n, limit) for (n, limit), text in zip(LIMITS.items(), texts, strict=True) if len(text) > limit)
    return f"{name} is longer than {limit} characters"


def _rating(text: str) -> tuple[bool | None, int | None]:
    word = text.lower().replace(" ", "").replace("_", "")
    if word in NO_RATING:
        return None, None
    rating = RATINGS.get(word)
    if rating is None:
        raise RowError(f"satisfaction {text!r} is not good, bad or a score from 1 to 5")
    return rating


def _first_response(seconds: str, minutes: str) -> int | None:
    if seconds:
        return parse_count(seconds, "first_response_seconds")
    if not minutes:
        return None
    try:
        value = float(minutes)
    except ValueError:
        raise RowError(f"first_response_minutes {minutes!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise RowError(f"first_response_minutes {minutes!r} is not a number of minutes")
    return round(value * 60)
