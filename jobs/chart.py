"""Pure: the digest's trend chart, a PNG of a team's engagement index and CSAT week by week.

Both series are on the same 0-100 scale (engagement index; % of rated tickets that were satisfied), so
they share one y axis: twin axes would invite reading the crossing of two lines as meaningful.

Rendering uses matplotlib's object-oriented API (`Figure` + `FigureCanvasAgg`) and never pyplot: pyplot
keeps global state (a current figure, a backend chosen at import) that is unsafe to share between the
scheduler's threads, while a `Figure` of our own is only ever touched by the thread that made it.

Building a figure costs about as much as drawing it, and every team's chart has the same frame, so each
thread keeps one chart and only changes its data, title and labels between teams (`_TrendChart.show`
resets every part that varies: a chart never shows anything of the previous team's).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.transforms import offset_copy

# Size in pixels is WIDTH_IN * DPI by HEIGHT_IN * DPI: 800 x 400. Slack scales an image block down to the
# message column (often 400-600 pixels wide), so the text is set large for the size: 11 pt tick labels
# still read at about 9 pixels when the chart is shown at 500. A bigger canvas would shrink the text further
# and cost render time (every pixel is cleared, drawn and compressed).
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100

# Slack shows images as they are, on whatever the reader's theme is (white in light, #1A1D21 in dark).
# A transparent chart with dark text vanishes on dark; light text vanishes on light. So the chart is an
# opaque light card with dark text (Slack's own text colour) and a hairline border that separates the
# card from a white light-theme background: readable in both themes, and the same file for everyone.
CARD = "#FFFFFF"
BORDER = "#D8D8D8"
TEXT = "#1D1C1D"
MUTED = "#616061"
GRID = "#E8E8E8"

# Okabe-Ito blue and vermillion: a pair that stays distinct with protanopia, deuteranopia and tritanopia.
# Colour is not the only cue either: the series also differ in marker shape and line style, so they can
# be told apart in greyscale and by readers who see no colour difference at all.
ENGAGEMENT_STYLE = {"color": "#0072B2", "marker": "o", "linestyle": "-"}
CSAT_STYLE = {"color": "#D55E00", "marker": "s", "linestyle": "--"}
ENGAGEMENT_LABEL = "Engagement index"
CSAT_LABEL = "CSAT (% satisfied)"
NO_DATA = "No data yet"
LABEL_GAP = 8.0  # on the 0-100 scale: about a line of 11 pt text at this plot height
PNG_COMPRESSION = 1
MAX_WEEK_LABELS = 13  # beyond this, week labels would touch: label every other (third, ...) week
Y_TICKS = (0, 25, 50, 75, 100)
Y_TITLE = "Score out of 100"
WEEK_LABEL_GID = "week-label"  # lets tests find the week labels among the texts


def render_trend_chart(
    weeks: Sequence[date], engagement: Sequence[float | None], csat: Sequence[float | None], title: str
) -> bytes:
    """A PNG (always the same pixel size) of both series over `weeks`, one value per week in each; see
    `trend_figure`. The same data always gives the same bytes."""
    chart = getattr(_per_thread, "chart", None)
    if chart is None:
        chart = _per_thread.chart = _TrendChart()
    chart.show(*_prepare(weeks, engagement, csat), title)
    buffer = io.BytesIO()
    # Straight to the Agg canvas: Figure.savefig would only add colour and layout bookkeeping around it.
    # No "Software" entry: without the matplotlib version in it the bytes depend only on the data.
    # zlib level 1: this flat-coloured image compresses to about the same size as at the default level 6,
    # in a fraction of the time.
    chart.canvas.print_png(buffer, metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return buffer.getvalue()


def trend_figure(
    weeks: Sequence[date], engagement: Sequence[float | None], csat: Sequence[float | None], title: str
) -> Figure:
    """The chart as a new matplotlib Figure on an Agg canvas, drawn as `render_trend_chart` draws it.

    Weeks are placed on a continuous weekly axis from the first to the last, so a week absent from
    `weeks` and a value of None or NaN both leave a gap in the line rather than joining across it. A week
    with no neighbours still shows as a marker. Any day of a week stands for that ISO week.
    """
    chart = _TrendChart()
    chart.show(*_prepare(weeks, engagement, csat), title)
    return chart.figure


_per_thread = threading.local()
Series = tuple[str, dict[str, str], np.ndarray]  # legend label, line style, values on the week axis


def _prepare(
    weeks: Sequence[date], engagement: Sequence[float | None], csat: Sequence[float | None]
) -> tuple[list[date], list[Series]]:
    """The continuous week axis (Mondays) and both series spread over it."""
    if not len(weeks) == len(engagement) == len(csat):
        raise ValueError(f"one value per week: {len(weeks)} weeks, {len(engagement)} engagement, {len(csat)} CSAT")
    mondays = [_monday(week) for week in weeks]
    if len(set(mondays)) != len(mondays):
        raise ValueError("each week may appear only once")
    axis = _week_axis(mondays)
    position = {monday: i for i, monday in enumerate(axis)}
    return axis, [
        (ENGAGEMENT_LABEL, ENGAGEMENT_STYLE, _spread(engagement, mondays, position, len(axis))),
        (CSAT_LABEL, CSAT_STYLE, _spread(csat, mondays, position, len(axis))),
    ]


class _TrendChart:
    """A figure with the fixed frame drawn once and the parts that vary kept as artists to update.

    The frame is drawn as plain lines and texts rather than with matplotlib's ticks: those build five
    artists per tick and measure every label to place the axis title, which was over a third of the
    render time, and a fixed 0-100 scale with at most 13 week labels needs no automatic placement.
    """

    def __init__(self) -> None:
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor=CARD, edgecolor=BORDER, linewidth=2)
        self.canvas = FigureCanvasAgg(figure)
        self.figure = figure
        # Fixed margins rather than tight/constrained layout: no layout pass per chart, and the plot area
        # is in the same place in every team's chart.
        figure.subplots_adjust(left=0.095, right=0.94, top=0.77, bottom=0.16)
        ax = self.ax = figure.add_subplot()
        ax.set_facecolor(CARD)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylim(-3, 103)  # a little room so markers at 0 and 100 are not cut in half
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(BORDER)
        across = ax.get_yaxis_transform()  # x in axes fractions, y in data: gridlines whatever the weeks
        ax.hlines(Y_TICKS, 0, 1, transform=across, colors=GRID, linewidth=1, zorder=0)
        left_of_axis = offset_copy(across, figure, x=-6, units="points")
        for value in Y_TICKS:
            ax.text(0, value, f"{value}", transform=left_of_axis, ha="right", va="center", fontsize=11, color=TEXT)
        figure.text(0.022, 0.465, Y_TITLE, rotation=90, ha="center", va="center", fontsize=11, color=MUTED)
        self.title = figure.text(0.03, 0.925, "", color=TEXT, fontsize=15, fontweight="bold", va="center")

        below_axis = offset_copy(ax.get_xaxis_transform(), figure, y=-6, units="points")
        self.week_labels: list[Text] = []
        for _ in range(MAX_WEEK_LABELS):
            label = ax.text(0, 0, "", transform=below_axis, ha="center", va="top", fontsize=11, color=TEXT)
            label.set(linespacing=1.1, gid=WEEK_LABEL_GID)
            self.week_labels.append(label)
        self.lines: list[Line2D] = []
        for label, style in ((ENGAGEMENT_LABEL, ENGAGEMENT_STYLE), (CSAT_LABEL, CSAT_STYLE)):
            (line,) = ax.plot([], [], label=label, linewidth=2.2, markersize=6, markeredgecolor=CARD, **style)
            line.set_markeredgewidth(1)  # a thin card-coloured ring keeps markers apart where lines cross
            self.lines.append(line)
        self.latest: list[Annotation] = [
            ax.annotate(
                "",
                xy=(0, 0),
                xytext=(9, 0),
                textcoords="offset points",
                va="center",
                fontsize=11,
                fontweight="bold",
                color=style["color"],
            )
            for style in (ENGAGEMENT_STYLE, CSAT_STYLE)
        ]
        self.legend = ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=2,
            frameon=False,
            fontsize=11,
            labelcolor=TEXT,
            borderaxespad=0.3,
        )
        self.no_data = ax.text(
            0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", fontsize=16, color=MUTED
        )

    def show(self, axis: list[date], series: list[Series], title: str) -> None:
        self.title.set_text(title)
        self.ax.set_xlim(-0.5, max(len(axis) - 1, 0) + 0.5)
        step = math.ceil(len(axis) / MAX_WEEK_LABELS) or 1
        shown = range(0, len(axis), step)
        for slot, label in enumerate(self.week_labels):
            if slot < len(shown):
                label.set(x=shown[slot], text=_week_label(axis, shown[slot]), visible=True)
            else:
                label.set(text="", visible=False)

        x = np.arange(len(axis), dtype=float)
        any_data = False
        for (label, _style, values), line, legend_text in zip(series, self.lines, self.legend.get_texts(), strict=True):
            present = bool((~np.isnan(values)).any())
            any_data = any_data or present
            line.set_data(x, values)
            legend_text.set_text(label if present else f"{label}: {NO_DATA.lower()}")
        self.no_data.set_visible(not any_data)

        for annotation in self.latest:
            annotation.set_visible(False)
        for index, x_at, value, y_at in _latest_values(series):
            self.latest[index].set(text=f"{value:.0f}", visible=True)
            self.latest[index].xy = (x_at, y_at)


def _monday(day: date) -> date:
    if isinstance(day, datetime):  # also pandas.Timestamp, a datetime
        day = day.date()
    return day - timedelta(days=day.weekday())


def _week_axis(mondays: list[date]) -> list[date]:
    """Every week from the first to the last given, missing ones included."""
    if not mondays:
        return []
    first, last = min(mondays), max(mondays)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _spread(values: Sequence[float | None], mondays: list[date], position: dict[date, int], size: int) -> np.ndarray:
    """The values on the continuous axis, NaN where a week is missing or has no value."""
    spread = np.full(size, np.nan)
    for monday, value in zip(mondays, values, strict=True):
        if value is not None:
            spread[position[monday]] = float(value)
    return spread


def _week_label(axis: list[date], index: int) -> str:
    """ "W47"; the year too under the first week and the first week of a new year, so a span over New
    Year reads in order."""
    year, week, _ = axis[index].isocalendar()
    new_year = index == 0 or axis[index - 1].isocalendar()[0] != year
    return f"W{week:02d}\n{year}" if new_year else f"W{week:02d}"


def _latest_values(series: list[Series]) -> list[tuple[int, float, float, float]]:
    """Where to write each series' latest value beside its last marker (the number a manager looks for
    first): (series index, x, value, height). Two labels in the same week closer than a line of text are
    pushed apart so they never overlap."""
    latest: list[tuple[int, float, float]] = []
    for index, (_label, _style, values) in enumerate(series):
        present = np.flatnonzero(~np.isnan(values))
        if present.size:
            latest.append((index, float(present[-1]), float(values[present[-1]])))
    heights = [value for _index, _x, value in latest]
    if len(latest) == 2 and latest[0][1] == latest[1][1] and abs(heights[0] - heights[1]) < LABEL_GAP:
        middle, half = sum(heights) / 2, LABEL_GAP / 2
        heights = [middle + half, middle - half] if heights[0] >= heights[1] else [middle - half, middle + half]
    return [(index, x, value, y) for (index, x, value), y in zip(latest, heights, strict=True)]
