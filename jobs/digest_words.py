"""Pure: the words and numbers of a digest as a manager reads them (the headline, 62, +12, 91%, 3h 10m).

Every layout (terminal, Block Kit, HTML) uses these, so a number reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jobs.digest import Line


def headline(lines: Sequence[Line]) -> list[str]:
    """What changed most this week, the best and the worst news, in words; only moves beyond the noise."""
    notable = [line for line in lines if line.notable and line.change_12w is not None and line.standard_error]
    if not notable:
        return ["Nothing moved beyond this team's usual week-to-week ups and downs."]

    def strength(line: Line) -> float:
        return abs(line.change_12w or 0) / (line.standard_error or 1)

    said = []
    # Up to two worries first (what a manager should look at), then the best news.
    for good, room in ((False, 2), (True, 1)):
        picks = sorted((line for line in notable if line.good is good), key=strength, reverse=True)
        for line in picks[:room]:
            verb = "rose" if (line.change_12w or 0) > 0 else "fell"
            said.append(f"{line.label} {verb} to {format_value(line)}, clearly {_beyond(line)} its 12-week average.")
    return said


def _beyond(line: Line) -> str:
    return "above" if (line.change_12w or 0) > 0 else "below"


def format_value(line: Line) -> str:
    return format_number(line.kind, line.value)


def format_number(kind: str, value: float | None) -> str:
    """A number as a manager reads it: 62, +12, 3.4, 91%, 8%, 3h 10m."""
    if value is None or np.isnan(value):
        return "-"
    if kind == "index":
        return f"{value:.0f}"
    if kind == "signed":
        return f"{value:+.0f}"
    if kind == "score":
        return f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"
    if kind == "percent":
        return f"{value:.0f}%"
    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "seconds":
        return format_duration(value)
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def format_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 1)}m" if seconds >= 30 else f"{seconds:.0f}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours / 24:.1f} days"
