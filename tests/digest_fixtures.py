"""Digests as jobs/digest.py makes them, for the layout tests (Block Kit, terminal text, HTML preview)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from jobs.digest import CommentLine, Digest, Line

WEEK = date(2026, 11, 16)
ROUND = date(2026, 11, 17)
NOT_ENOUGH = "not enough answers to show"


def line(
    key: str,
    label: str,
    kind: str,
    value: float | None,
    change: float | None = None,
    *,
    notable: bool = False,
    good: bool | None = None,
    suppressed: bool = False,
    note: str | None = None,
) -> Line:
    """A Line as jobs/digest.py makes them: a hidden cell has no value, no move and a note."""
    if suppressed:
        value, change, note = None, None, note or NOT_ENOUGH
    elif value is None:
        note = note or "no data this week"
    direction = "none" if change is None else "flat" if change == 0 else "up" if change > 0 else "down"
    return Line(
        key=key,
        label=label,
        kind=kind,
        value=value,
        n=12,
        suppressed=suppressed,
        note=note,
        change_previous=change,
        change_4w=change,
        change_12w=change,
        standard_error=None if change is None else 1.0,
        notable=notable,
        direction=direction,
        good=good if notable else None,
    )


def make_digest(**changes: Any) -> Digest:
    """A typical week of a 18-person team; keyword arguments replace fields."""
    digest = Digest(
        team_id=1,
        team="Support EMEA",
        week="2026-W47",
        week_start=WEEK,
        k=3,
        asked=18,
        respondents=14,
        participation=14 / 18,
        headline=["Engagement index fell to 58, clearly below its 12-week average."],
        ex=[
            line("engagement", "Engagement index", "index", 58.0, -6.0, notable=True, good=False),
            line("enps", "eNPS", "signed", 12.0, 0.0),
            line("sentiment", "Comment sentiment", "score", None, suppressed=True),
        ],
        drivers=[
            line("recognition", "Recognition", "score", None, suppressed=True),
            line("workload", "Workload", "score", 3.4, -0.3),
        ],
        cx=[
            line("csat", "CSAT", "percent", 94.0, 3.0, notable=True, good=True),
            line("reopen_rate", "Reopen rate", "share", 0.08, 0.01),
            line("first_response_median", "Median first response", "seconds", 840.0, -60.0),
            line("resolution_median", "Median resolution", "seconds", 11400.0, 600.0),
            line("tickets_per_agent", "Tickets solved per agent", "count", 21.0, 2.0),
            line("solved", "Tickets solved", "count", 126.0, 10.0),
        ],
        link_sentence=None,
        comments=[CommentLine("The new on-call rota is hard on weekends.", "workload", ROUND)],
        comments_note=None,
        missing=[],
    )
    return replace(digest, **changes)
