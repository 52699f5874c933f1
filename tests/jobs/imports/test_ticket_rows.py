"""Ticket export rows -> outcome events: columns, times, ratings, keys, and the errors a row can have."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.imports.csv_rows import ERRORS_SHOWN, ErrorLog, HeaderError, RowError, numbered_rows, parse_time
from jobs.imports.ticket_rows import EventRow, ticket_events, ticket_header
from storage.imports import EVENT_COLUMNS

HEADER = ["ticket_id", "created_at", "solved_at", "reopened_at", "agent_email", "group", "satisfaction", "rated_at"]


def events(row: dict[str, str], header: list[str] = HEADER) -> list[EventRow]:
    return ticket_events(ticket_header(header), [row.get(column, "") for column in header])


def test_event_rows_have_the_columns_storage_inserts_in_the_same_order() -> None:
    assert EventRow._fields == EVENT_COLUMNS


def test_a_solved_and_rated_ticket_becomes_two_events_with_times_in_utc() -> None:
    solved, rated = events(
        {
            "ticket_id": "T-1",
            "created_at": "2025-03-01T09:00:00+01:00",
            "solved_at": "2025-03-01 10:30",
            "agent_email": "Ann@Example.COM",
            "group": "Tier 2",
            "satisfaction": "Good",
        }
    )
    assert solved.kind == "solved"
    assert solved.occurred_at == datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    assert solved.ticket_created_at == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert solved.resolution_seconds == 2.5 * 3600  # computed from created_at and solved_at
    assert (solved.agent_email, solved.group_name, solved.provider) == ("ann@example.com", "Tier 2", "import")
    assert (rated.kind, rated.occurred_at, rated.rating_good, rated.rating_score) == (
        "rated",
        solved.occurred_at,
        True,
        None,
    )
    assert rated.resolution_seconds is None


def test_a_reopened_ticket_adds_a_reopened_event_and_a_score_is_kept_as_a_score() -> None:
    kinds = events(
        {
            "ticket_id": "9",
            "solved_at": "2025-03-01T10:00:00Z",
            "reopened_at": "2025-03-02T10:00:00Z",
            "satisfaction": "4",
            "rated_at": "2025-03-03T10:00:00Z",
        }
    )
    assert [(e.kind, e.occurred_at.day, e.rating_score) for e in kinds] == [
        ("solved", 1, None),
        ("reopened", 2, None),
        ("rated", 3, 4),
    ]


def test_an_open_unrated_ticket_has_no_events() -> None:
    assert events({"ticket_id": "1", "created_at": "2025-03-01T10:00:00Z", "satisfaction": "Offered"}) == []


def test_the_same_instant_written_two_ways_gives_the_same_event_key() -> None:
    (utc,) = events({"ticket_id": "1", "solved_at": "2025-03-01T10:00:00Z"})
    (paris,) = events({"ticket_id": "1", "solved_at": "2025-03-01T11:00:00+01:00"})
    (naive,) = events({"ticket_id": "1", "solved_at": "2025-03-01 10:00:00"})
    assert utc.event_key == paris.event_key == naive.event_key == "import:1:solved:1740823200"


def test_first_response_minutes_become_seconds_and_seconds_win_when_both_are_given() -> None:
    header = ["ticket_id", "solved_at", "first_response_seconds", "first_response_minutes", "resolution_seconds"]
    base = {"ticket_id": "1", "solved_at": "2025-03-01T10:00:00Z", "resolution_seconds": "60"}
    (by_minutes,) = events({**base, "first_response_minutes": "2.5"}, header)
    (both,) = events({**base, "first_response_minutes": "2.5", "first_response_seconds": "7"}, header)
    assert (by_minutes.first_response_seconds, by_minutes.resolution_seconds) == (150, 60)
    assert both.first_response_seconds == 7


def test_headers_are_matched_whatever_their_capitals_spaces_or_dashes_and_unknown_ones_are_listed() -> None:
    header = ticket_header(["\ufeffTicket ID", "Solved-At", "Priority"])
    assert header.index == {"ticket_id": 0, "solved_at": 1}
    assert header.ignored == ("Priority",)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["solved_at", "group"], "the header lacks the required column(s) ticket_id"),
        (["ticket_id", "group"], "the header has none of solved_at, reopened_at, satisfaction"),
        (["ticket_id", "solved_at", "Solved At"], "the header names solved_at more than once"),
        ([], "the file is empty"),
    ],
)
def test_a_header_that_cannot_work_is_refused_with_one_line_saying_why(cells: list[str], message: str) -> None:
    with pytest.raises(HeaderError) as error:
        ticket_header(cells)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"solved_at": "2025-03-01"}, "ticket_id is empty"),
        ({"ticket_id": "1", "solved_at": "last tuesday"}, "solved_at 'last tuesday' is not a time"),
        ({"ticket_id": "1", "solved_at": "2025-03-01", "satisfaction": "meh"}, "satisfaction 'meh' is not good, bad"),
        ({"ticket_id": "1", "satisfaction": "5"}, "satisfaction needs rated_at or solved_at"),
        ({"ticket_id": "1", "created_at": "2025-03-02", "solved_at": "2025-03-01"}, "solved_at is before created_at"),
        ({"ticket_id": "1", "solved_at": "2025-03-01", "agent_email": "Ann Smith"}, "agent_email 'Ann Smith' is not"),
        ({"ticket_id": "x" * 65, "solved_at": "2025-03-01"}, "ticket_id is longer than 64 characters"),
        ({"ticket_id": "1", "solved_at": "2025-03-01", "source": "Zen desk!"}, "source 'zen desk!' is not a name"),
        ({"ticket_id": "1", "solved_at": "2025-03-01", "resolution_seconds": "-5"}, "resolution_seconds '-5' is neg"),
        ({"ticket_id": "1", "solved_at": "2025-03-01", "first_response_minutes": "nan"}, "first_response_minutes"),
    ],
)
def test_a_row_with_a_wrong_cell_is_an_error_naming_the_column(row: dict[str, str], message: str) -> None:
    header = [*HEADER, "source", "resolution_seconds", "first_response_minutes"]
    with pytest.raises(RowError) as error:
        events(row, header)
    assert str(error.value).startswith(message)


def test_a_row_with_more_or_fewer_cells_than_the_header_is_an_error() -> None:
    header = ticket_header(["ticket_id", "solved_at"])
    with pytest.raises(RowError, match="3 cells where the header has 2"):
        ticket_events(header, ["1", "2025-03-01", "extra"])
    with pytest.raises(RowError, match="1 cells where the header has 2"):
        ticket_events(header, ["1"])


def test_a_source_column_names_the_provider_the_events_are_stored_under() -> None:
    header = ["ticket_id", "solved_at", "source"]
    (event,) = events({"ticket_id": "1", "solved_at": "2025-03-01", "source": "Zendesk"}, header)
    assert event.provider == "zendesk"


def test_times_take_iso_8601_with_or_without_an_offset_and_a_plain_date_is_midnight_utc() -> None:
    assert parse_time("2025-03-01T10:00:00.5+02:00", "x") == datetime(2025, 3, 1, 8, 0, 0, 500000, tzinfo=UTC)
    assert parse_time("2025-03-01 10:00", "x") == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert parse_time("2025-03-01", "x") == datetime(2025, 3, 1, tzinfo=UTC)


def test_rows_are_numbered_by_the_line_they_start_on_even_after_a_cell_spanning_lines() -> None:
    lines = ["ticket_id,note\n", '1,"two\n', 'lines"\n', "\n", "3,x\n"]
    assert list(numbered_rows(lines)) == [(1, ["ticket_id", "note"]), (2, ["1", "two\nlines"]), (5, ["3", "x"])]


def test_the_error_log_keeps_the_first_errors_and_counts_all_of_them() -> None:
    log = ErrorLog()
    for line in range(2, 2 + ERRORS_SHOWN + 30):
        log.add(line, "bad")
    assert log.count == ERRORS_SHOWN + 30
    assert [line for line, _ in log.shown] == list(range(2, 2 + ERRORS_SHOWN))
