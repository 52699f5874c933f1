from __future__ import annotations

import ast
import io
import math
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from PIL import Image

from jobs.chart import (
    CARD,
    CSAT_STYLE,
    DPI,
    ENGAGEMENT_STYLE,
    HEIGHT_IN,
    NO_DATA,
    WEEK_LABEL_GID,
    WIDTH_IN,
    Y_TITLE,
    render_trend_chart,
    trend_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI))
WEEKS = [date(2026, 9, 7) + timedelta(weeks=n) for n in range(12)]  # Mondays of 2026-W37 to W48
ENGAGEMENT = [62.0, 65.0, None, 70.0, 68.0, 71.0, None, None, 74.0, 73.0, 75.0, 76.5]
CSAT = [88.0, 85.0, 90.0, None, 86.0, 84.0, 80.0, 82.0, None, 87.0, 89.0, 91.0]


def image_of(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def lines(figure_weeks: list[date], engagement: list, csat: list) -> tuple[Line2D, Line2D]:
    figure = trend_figure(figure_weeks, engagement, csat, "Support")
    engagement_line, csat_line = figure.axes[0].get_lines()
    return engagement_line, csat_line


def texts(figure_weeks: list[date], engagement: list, csat: list) -> list[str]:
    figure = trend_figure(figure_weeks, engagement, csat, "Support")
    return [t.get_text() for t in figure.findobj(Text) if t.get_text() and t.get_visible()]


def week_labels(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text) if t.get_gid() == WEEK_LABEL_GID and t.get_visible()]


def rendered_in_a_new_thread(*args: object) -> bytes:
    """A render by a thread that has drawn no chart before (each thread keeps its own figure)."""
    result: list[bytes] = []
    worker = threading.Thread(target=lambda: result.append(render_trend_chart(*args)))  # type: ignore[arg-type]
    worker.start()
    worker.join()
    return result[0]


def test_the_chart_is_a_png_of_the_documented_size() -> None:
    png = render_trend_chart(WEEKS, ENGAGEMENT, CSAT, "Support: engagement and CSAT")
    assert png.startswith(PNG_SIGNATURE)
    image = image_of(png)
    assert image.format == "PNG" and image.size == SIZE


@pytest.mark.parametrize(
    ("weeks", "engagement", "csat"),
    [
        (WEEKS, ENGAGEMENT, CSAT),
        (WEEKS, [None] * 12, [None] * 12),
        (WEEKS[-1:], [55.0], [None]),
        ([], [], []),
    ],
    ids=["twelve weeks", "no data", "one week", "no weeks"],
)
def test_every_chart_has_the_same_size_whatever_its_data(weeks: list, engagement: list, csat: list) -> None:
    assert image_of(render_trend_chart(weeks, engagement, csat, "A team")).size == SIZE


def test_the_same_data_always_renders_the_same_bytes() -> None:
    first = render_trend_chart(WEEKS, ENGAGEMENT, CSAT, "Support")
    assert render_trend_chart(WEEKS, ENGAGEMENT, CSAT, "Support") == first


def test_a_chart_shows_nothing_of_the_chart_drawn_before_it_in_the_same_thread() -> None:
    fresh = rendered_in_a_new_thread(WEEKS[-1:], [55.0], [None], "New team")
    render_trend_chart(WEEKS, ENGAGEMENT, CSAT, "Support")  # more weeks, both series, labels, a longer title
    render_trend_chart(WEEKS, [None] * 12, [None] * 12, "Onboarding")  # "no data yet"
    assert render_trend_chart(WEEKS[-1:], [55.0], [None], "New team") == fresh


def test_threads_rendering_at_once_get_the_same_charts_as_one_thread_alone() -> None:
    teams = [
        (WEEKS, ENGAGEMENT, CSAT, "Support"),
        (WEEKS, [None] * 12, CSAT, "Billing"),
        (WEEKS[:1], [1.0], [2.0], "A"),
    ]
    alone = [render_trend_chart(*team) for team in teams]
    results: dict[tuple[int, int], bytes] = {}

    def render_all(worker: int) -> None:
        for _ in range(3):
            for n, team in enumerate(teams):
                results[worker, n] = render_trend_chart(*team)

    workers = [threading.Thread(target=render_all, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(results[w, n] == alone[n] for w in range(4) for n in range(len(teams)))


def test_the_card_is_opaque_so_it_reads_the_same_on_light_and_dark_themes() -> None:
    image = image_of(render_trend_chart(WEEKS, ENGAGEMENT, CSAT, "Support")).convert("RGBA")
    alpha = image.getchannel("A")
    assert alpha.getextrema() == (255, 255)
    corner_inside_border = image.getpixel((8, 8))
    assert corner_inside_border[:3] == tuple(int(CARD[i : i + 2], 16) for i in (1, 3, 5))


def test_both_series_share_one_axis_from_0_to_100_with_a_label_and_a_legend() -> None:
    figure = trend_figure(WEEKS, ENGAGEMENT, CSAT, "Support")
    [ax] = figure.axes
    low, high = ax.get_ylim()
    assert low <= 0 and high >= 100 and high - low < 110
    assert Y_TITLE in [t.get_text() for t in figure.texts]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["Engagement index", "CSAT (% satisfied)"]


def test_the_weeks_are_labelled_as_iso_weeks_with_the_year_under_the_first() -> None:
    labels = week_labels(trend_figure(WEEKS, ENGAGEMENT, CSAT, "Support"))
    assert labels == ["W37\n2026", *[f"W{n}" for n in range(38, 49)]]


def test_a_span_over_new_year_names_the_new_year_under_its_first_week() -> None:
    weeks = [date(2026, 12, 21) + timedelta(weeks=n) for n in range(4)]  # 2026 has a week 53
    labels = week_labels(trend_figure(weeks, [50.0] * 4, [60.0] * 4, "Support"))
    assert labels == ["W52\n2026", "W53", "W01\n2027", "W02"]


def test_a_week_without_a_value_breaks_the_line() -> None:
    engagement, csat = lines(WEEKS, ENGAGEMENT, CSAT)
    assert math.isnan(engagement.get_ydata()[2]) and math.isnan(csat.get_ydata()[3])
    assert engagement.get_ydata()[11] == 76.5


def test_a_week_missing_from_the_weeks_also_breaks_the_line() -> None:
    weeks = [WEEKS[0], WEEKS[1], WEEKS[3]]  # the third week is not there at all
    engagement, _csat = lines(weeks, [60.0, 61.0, 63.0], [None, None, None])
    assert list(engagement.get_xdata()) == [0, 1, 2, 3]
    assert math.isnan(engagement.get_ydata()[2]) and engagement.get_ydata()[3] == 63.0


def test_nan_counts_as_missing_like_none() -> None:
    engagement, _csat = lines(WEEKS[:2], [float("nan"), 50.0], [None, None])
    assert math.isnan(engagement.get_ydata()[0])


def test_any_day_of_a_week_and_pandas_timestamps_stand_for_that_week() -> None:
    days = [pd.Timestamp("2026-11-18"), datetime(2026, 11, 25, 17, 30), date(2026, 12, 6)]  # Wed, Wed, Sun
    labels = week_labels(trend_figure(days, [50.0, 51.0, 52.0], [None, None, None], "Support"))
    assert labels == ["W47\n2026", "W48", "W49"]


def test_a_chart_without_any_data_says_no_data_yet() -> None:
    shown = texts(WEEKS, [None] * 12, [None] * 12)
    assert NO_DATA in shown
    assert "Engagement index: no data yet" in shown and "CSAT (% satisfied): no data yet" in shown


def test_a_chart_with_data_does_not_say_no_data_yet() -> None:
    assert NO_DATA not in texts(WEEKS, ENGAGEMENT, CSAT)


def test_a_series_without_data_says_so_in_the_legend_while_the_other_is_drawn() -> None:
    shown = texts(WEEKS, ENGAGEMENT, [None] * 12)
    assert "Engagement index" in shown and "CSAT (% satisfied): no data yet" in shown and NO_DATA not in shown


def test_a_single_week_shows_as_a_marker_in_the_series_colour() -> None:
    figure = trend_figure(WEEKS[-1:], [55.0], [None], "New team")
    [ax] = figure.axes
    engagement, _csat = ax.get_lines()
    assert engagement.get_marker() == ENGAGEMENT_STYLE["marker"]
    x, y = ax.transData.transform((0, 55.0))
    image = image_of(render_trend_chart(WEEKS[-1:], [55.0], [None], "New team")).convert("RGB")
    pixel = image.getpixel((round(x), round(image.height - y)))
    assert pixel == tuple(int(ENGAGEMENT_STYLE["color"][i : i + 2], 16) for i in (1, 3, 5))


def test_the_series_differ_by_more_than_colour() -> None:
    assert ENGAGEMENT_STYLE["marker"] != CSAT_STYLE["marker"]
    assert ENGAGEMENT_STYLE["linestyle"] != CSAT_STYLE["linestyle"]


def test_the_latest_value_of_each_series_is_written_beside_it() -> None:
    shown = texts(WEEKS, ENGAGEMENT, CSAT)
    assert "76" in shown and "91" in shown  # 76.5 is written as 76: whole points are what a manager reads


def test_the_latest_values_are_pushed_apart_when_they_would_overlap() -> None:
    figure = trend_figure(WEEKS[:2], [60.0, 61.0], [59.0, 60.0], "Support")
    heights = sorted(a.xy[1] for a in figure.findobj(Annotation) if a.get_visible())
    assert heights[1] - heights[0] >= 8


def test_more_weeks_than_fit_are_labelled_every_other_week() -> None:
    weeks = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(26)]
    labels = week_labels(trend_figure(weeks, [50.0] * 26, [None] * 26, "Half a year"))
    assert labels[:3] == ["W02\n2026", "W04", "W06"] and len(labels) == 13


def test_series_of_another_length_than_the_weeks_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per week"):
        render_trend_chart(WEEKS, ENGAGEMENT[:-1], CSAT, "Support")


def test_the_same_week_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="only once"):
        render_trend_chart([WEEKS[0], WEEKS[0] + timedelta(days=2)], [1.0, 2.0], [3.0, 4.0], "Support")


def test_the_chart_module_imports_only_plotting_and_the_standard_library_and_never_pyplot() -> None:
    source = Path(__file__).resolve().parents[2] / "jobs" / "chart.py"
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    roots = {module.split(".")[0] for module in modules}
    assert roots - set(sys.stdlib_module_names) <= {"numpy", "pandas", "matplotlib"}
    assert "matplotlib.pyplot" not in modules  # pyplot's global state is not safe across threads
