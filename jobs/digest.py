"""Pure: the content of each team's weekly digest, from the published (anonymity-applied) panel.

Everything a digest says is decided here, as plain values; Block Kit, the terminal text, the HTML page
and the JSON output (docs/digest.md) only lay it out. Trends are computed for all teams at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from jobs.anonymity import suppression_note
from jobs.digest_words import headline
from jobs.panel import ENGAGEMENT_WEEKS
from jobs.trends import Trend, trends_at

CHART_WEEKS = 12
MAX_COMMENTS = 5
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Measure:
    """How a number is named, shown and judged (`higher_is_better` decides good and bad moves)."""

    key: str
    label: str
    kind: str  # index | score | percent | share | seconds | count | signed
    higher_is_better: bool = True


EX_MEASURES = (
    Measure("engagement", "Engagement index", "index"),
    Measure("enps", "eNPS", "signed"),
    Measure("sentiment", "Comment sentiment", "score"),
)
CX_MEASURES = (
    Measure("csat", "CSAT", "percent"),
    Measure("reopen_rate", "Reopen rate", "share", higher_is_better=False),
    Measure("first_response_median", "Median first response", "seconds", higher_is_better=False),
    Measure("resolution_median", "Median resolution", "seconds", higher_is_better=False),
    Measure("tickets_per_agent", "Tickets solved per agent", "count"),
    Measure("solved", "Tickets solved", "count"),
)


@dataclass(frozen=True)
class Line:
    """One number of the digest: its value (None when hidden or missing) and how it moved."""

    key: str
    label: str
    kind: str
    value: float | None
    n: int | None  # how many people (or agents, for CX) stand behind it
    suppressed: bool
    note: str | None  # why there is no value: "not enough answers to show", "no data this week"
    change_previous: float | None
    change_4w: float | None
    change_12w: float | None
    standard_error: float | None
    notable: bool
    direction: str  # up | down | flat | none
    good: bool | None  # whether the move is good news, when notable
    asked_on: date | None = None  # a driver not asked this week: the Monday of the week it last was


@dataclass(frozen=True)
class CommentLine:
    text: str
    driver: str | None
    round_opened_on: date  # comments are dated by round, never by the time they were written


@dataclass(frozen=True)
class Digest:
    team_id: int
    team: str
    week: str  # 2026-W47
    week_start: date
    k: int
    asked: int | None
    respondents: int
    participation: float | None
    headline: list[str]
    ex: list[Line]
    drivers: list[Line]
    cx: list[Line]
    link_sentence: str | None
    comments: list[CommentLine]
    comments_note: str | None
    missing: list[str]
    chart_weeks: list[date] = field(default_factory=list)
    chart_engagement: list[float | None] = field(default_factory=list)
    chart_csat: list[float | None] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The documented, stable JSON shape (docs/digest.md)."""
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        data["week_start"] = self.week_start.isoformat()
        data["chart_weeks"] = [w.isoformat() for w in self.chart_weeks]
        for line in data["drivers"]:
            line["asked_on"] = line["asked_on"] and line["asked_on"].isoformat()
        for comment in data["comments"]:
            comment["round_opened_on"] = comment["round_opened_on"].isoformat()
        return data


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_digests(
    panel: pd.DataFrame,
    drivers: pd.DataFrame,
    team_names: Mapping[int, str],
    week: date,
    driver_names: Mapping[str, str],
    comments: Mapping[int, Sequence[CommentLine]],
    link_sentences: Mapping[int, str | None],
) -> list[Digest]:
    """Every team's digest for `week` (a Monday) from the published panel, which must hold that week
    and the 12 before it for trends and the chart."""
    weeks = sorted(panel["week"].unique())
    at = weeks.index(pd.Timestamp(week))
    teams = sorted(panel["team_id"].unique())
    # Plain dicts by team: a thousand teams times a dozen numbers would spend seconds in DataFrame.loc.
    this_week = panel[panel["week"] == pd.Timestamp(week)].set_index("team_id").to_dict("index")
    ex = {m.key: _lines(panel, teams, weeks, at, m, this_week) for m in EX_MEASURES}
    cx = {m.key: _lines(panel, teams, weeks, at, m, this_week) for m in CX_MEASURES}
    driver_lines = _driver_lines(drivers, teams, weeks, at, driver_names)
    recent = panel[panel["week"].between(weeks[max(0, at - CHART_WEEKS + 1)], weeks[at])]
    charts = dict(tuple(recent.sort_values("week").groupby("team_id")))
    digests = []
    for position, team_id in enumerate(teams):
        row = this_week[team_id]
        team_ex = [ex[m.key][position] for m in EX_MEASURES]
        team_cx = [cx[m.key][position] for m in CX_MEASURES]
        team_drivers = driver_lines.get(int(team_id), [])
        shown_comments = list(comments.get(int(team_id), ()))[:MAX_COMMENTS] if not row["comments_suppressed"] else []
        chart = charts[team_id]
        digests.append(
            Digest(
                team_id=int(team_id),
                team=team_names.get(int(team_id), f"team {team_id}"),
                week=iso_week(week),
                week_start=week,
                k=int(row["k"]),
                asked=None if pd.isna(row["asked"]) else int(row["asked"]),
                respondents=0 if pd.isna(row["respondents"]) else int(row["respondents"]),
                participation=_value(row["participation"]),
                # Drivers asked in earlier weeks stay in the table but were news then, not now.
                headline=headline([*team_ex, *(d for d in team_drivers if d.asked_on is None), *team_cx]),
                ex=team_ex,
                drivers=team_drivers,
                cx=team_cx,
                link_sentence=link_sentences.get(int(team_id)),
                comments=shown_comments,
                comments_note=_comments_note(row, len(shown_comments)),
                missing=_missing(row, team_cx),
                chart_weeks=[w.date() for w in chart["week"]],
                chart_engagement=[_value(v) for v in chart["engagement"]],
                chart_csat=[_value(v) for v in chart["csat"]],
            )
        )
    return digests


def _lines(
    panel: pd.DataFrame,
    teams: list[Any],
    weeks: list[Any],
    at: int,
    measure: Measure,
    this_week: Mapping[Any, Mapping[str, Any]],
) -> list[Line]:
    series = panel.pivot(index="team_id", columns="week", values=measure.key).reindex(index=teams, columns=weeks)
    trends = trends_at(series.to_numpy(dtype="float64"), at)
    count = "agents" if measure in CX_MEASURES else _count_column(measure.key)
    lines = []
    for team_id, trend in zip(teams, trends, strict=True):
        row = this_week[team_id]
        suppressed = bool(row.get(f"{measure.key}_suppressed", False))
        if measure not in CX_MEASURES and trend.value is None and 0 < (row["respondents"] or 0) < row["k"]:
            # Closing the round already dropped answers under k: nothing to hide, but that is the reason.
            suppressed = True
        n = None if pd.isna(row[count]) else int(row[count])
        lines.append(_line(measure, trend, n, suppressed, suppression_note(measure.key)))
    return lines


def _count_column(key: str) -> str:
    return {"engagement": "engagement_n", "enps": "enps_n"}.get(key, "respondents")


def _driver_lines(
    drivers: pd.DataFrame, teams: list[Any], weeks: list[Any], at: int, names: Mapping[str, str]
) -> dict[int, list[Line]]:
    """Each driver asked in the last ENGAGEMENT_WEEKS, at the week it was last asked: rotation asks a few
    drivers a week, and a table of only those would hide last week's workload drop from this week's digest."""
    recent = drivers[drivers["week"].between(weeks[max(0, at - ENGAGEMENT_WEEKS + 1)], weeks[at])]
    if recent.empty:
        return {}
    latest = recent.sort_values("week").groupby(["team_id", "driver"]).tail(1).set_index(["team_id", "driver"])
    series = drivers.pivot_table(index=["team_id", "driver"], columns="week", values="mean", dropna=False)
    matrix = series.reindex(index=latest.index, columns=weeks).to_numpy(dtype="float64")
    positions = [weeks.index(week) for week in latest["week"]]
    trends = {position: trends_at(matrix, position) for position in set(positions)}
    lines: dict[int, list[Line]] = {}
    rows = latest[["n", "mean_suppressed"]].to_dict("records")
    for row_number, ((team_id, driver), position) in enumerate(zip(latest.index, positions, strict=True)):
        row = rows[row_number]
        measure = Measure(driver, names.get(driver, driver.replace("_", " ").capitalize()), "score")
        trend = trends[position][row_number]
        line = _line(measure, trend, int(row["n"]), bool(row["mean_suppressed"]), suppression_note("mean"))
        if position != at:
            line = replace(line, asked_on=weeks[position].date())
        lines.setdefault(int(team_id), []).append(line)
    return {team: sorted(found, key=lambda line: line.label) for team, found in lines.items()}


def _line(measure: Measure, trend: Trend, n: int | None, suppressed: bool, hidden_note: str) -> Line:
    change = trend.change_previous
    direction = "none" if change is None else "flat" if abs(change) < 1e-9 else "up" if change > 0 else "down"
    good = None
    if trend.notable and trend.change_12w is not None:
        good = (trend.change_12w > 0) == measure.higher_is_better
    note = hidden_note if suppressed else ("no data this week" if trend.value is None else None)
    return Line(
        key=measure.key,
        label=measure.label,
        kind=measure.kind,
        value=None if suppressed else trend.value,
        n=n,
        suppressed=suppressed,
        note=note,
        change_previous=None if suppressed else change,
        change_4w=None if suppressed else trend.change_4w,
        change_12w=None if suppressed else trend.change_12w,
        standard_error=trend.standard_error,
        notable=trend.notable and not suppressed,
        direction="none" if suppressed else direction,
        good=None if suppressed else good,
    )


def _comments_note(row: Mapping[str, Any], shown: int) -> str | None:
    if row["comments_suppressed"]:
        return f"comments are shown only when at least {max(int(row['k']), 5)} people answered"
    if shown == 0:
        return "no comments this week"
    return None


def _missing(row: Mapping[str, Any], cx: list[Line]) -> list[str]:
    missing = []
    if pd.isna(row["asked"]) and not row["respondents"]:
        missing.append("No pulse round of this team closed this week.")
    elif not row["respondents"]:
        missing.append("Nobody answered this week's pulse.")
    if all(line.value is None and not line.suppressed for line in cx):
        missing.append("No customer outcomes were credited to this team this week.")
    return missing


def _value(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def previous_week(day: date) -> date:
    """Monday of the ISO week before the one `day` is in: the week a Monday digest is about."""
    return day - timedelta(days=day.weekday() + 7)
