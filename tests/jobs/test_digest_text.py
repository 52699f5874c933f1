"""The weekly digest for a terminal: the Slack message's content and order, in 80 columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jobs.digest import CommentLine
from jobs.digest_text import change_text, digest_text
from tests.digest_fixtures import ROUND, line, make_digest


def test_the_text_says_everything_in_the_order_of_the_slack_message() -> None:
    text = digest_text(make_digest(link_sentence="Weeks when workload dipped came with lower CSAT."))
    order = [
        "Support EMEA · week 2026-W47",
        "Engagement index fell to 58",
        "14 of 18 answered (78%)",
        "TEAM PULSE",
        "DRIVERS",
        "CUSTOMERS",
        "PULSE AND CUSTOMERS",
        "WHAT PEOPLE SAID",
        "Scores appear only when at least 3 people answered; comments from 5.",
        "2 standard errors",
    ]
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)


def test_rows_show_value_arrow_change_and_a_marker_for_notable_moves() -> None:
    rows = digest_text(make_digest()).splitlines()
    assert "  Engagement index                58  ↓ 6         [!] below its 12-week average" in rows
    assert "  eNPS                           +12  → no change" in rows
    assert "  CSAT                           94%  ↑ 3 pts     [+] above its 12-week average" in rows
    assert "  Median resolution           3h 10m  ↑ 10m" in rows


def test_suppressed_cells_say_their_note() -> None:
    rows = digest_text(make_digest()).splitlines()
    assert "  Comment sentiment        not enough answers to show" in rows
    assert "  Recognition              not enough answers to show" in rows


def test_every_line_fits_an_80_column_terminal_whatever_the_digest() -> None:
    drivers = [line(f"d{i}", f"A driver with a very long name {i} " * 4, "score", 3.0, 0.1) for i in range(40)]
    comments = [CommentLine("word " * 150 + "x" * 200, "d1", ROUND) for _ in range(5)]
    text = digest_text(make_digest(drivers=drivers, comments=comments, headline=["Long " * 60]))

    assert max(len(row) for row in text.splitlines()) <= 80
    assert "… and 20 more drivers, none with a notable move." in text


def test_a_digest_with_everything_missing_still_says_why() -> None:
    missing = ["No pulse round of this team closed this week.", "No customer outcomes were credited to this team."]
    digest = make_digest(
        asked=None,
        respondents=0,
        participation=None,
        ex=[line("engagement", "Engagement index", "index", None)],
        drivers=[],
        cx=[line("csat", "CSAT", "percent", None)],
        comments=[],
        comments_note="no comments this week",
        missing=missing,
    )
    text = digest_text(digest)

    assert all(note in text for note in missing)
    assert "TEAM PULSE\n  No data this week." in text
    assert "CUSTOMERS\n  No data this week." in text
    assert "DRIVERS" not in text
    assert "No comments this week." in text
    assert "answered" not in text.split("TEAM PULSE")[0]


def test_an_imported_round_says_who_answered_without_a_rate() -> None:
    text = digest_text(make_digest(asked=None, participation=None))
    assert "14 answered (imported round: how many were asked is not recorded)" in text


def test_comments_are_quoted_and_dated_by_round_at_most_five() -> None:
    comments = [CommentLine(f"Comment {i}", None if i else "workload", ROUND) for i in range(7)]
    text = digest_text(make_digest(comments=comments))

    assert "  > Comment 0\n      (round of 17 Nov, about Workload)\n\n  > Comment 1\n      (round of 17 Nov)" in text
    assert "Comment 4" in text
    assert "Comment 5" not in text


def test_the_link_sentence_appears_only_when_present() -> None:
    assert "PULSE AND CUSTOMERS\n  A pattern." in digest_text(make_digest(link_sentence="A pattern."))
    assert "PULSE AND CUSTOMERS" not in digest_text(make_digest())


@pytest.mark.parametrize(
    ("kind", "change", "said"),
    [
        ("percent", -4.2, "↓ 4 pts"),
        ("share", 0.003, "↑ 0.3 pts"),
        ("seconds", -5400.0, "↓ 1h 30m"),
        ("signed", 7.0, "↑ 7"),
        ("score", -0.04, "↓ 0.04"),
        ("index", 0.0, "→ no change"),
    ],
)
def test_changes_read_in_the_units_of_their_number(kind: str, change: float, said: str) -> None:
    assert change_text(line("x", "X", kind, 1.0, change)) == said


def test_a_number_without_an_earlier_value_shows_no_arrow() -> None:
    assert change_text(line("x", "X", "index", 50.0, None)) == ""


def test_a_driver_asked_in_an_earlier_week_says_which_week_at_the_end_of_its_row() -> None:
    older = replace(line("workload", "Workload", "score", 2.2, -0.9), asked_on=date(2026, 11, 2))
    rows = digest_text(make_digest(drivers=[older])).splitlines()
    assert "  Workload                       2.2  ↓ 0.9  (week of 2 Nov)" in rows
