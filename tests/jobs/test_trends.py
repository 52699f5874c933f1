"""Trends over a team's own history: changes, baselines and when a move counts as news."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.trends import trends_at

NAN = np.nan


def test_it_compares_with_the_previous_week_and_the_4_and_12_week_means() -> None:
    series = np.array([[60.0] * 8 + [62.0, 64.0, 66.0, 68.0, 70.0]])
    (trend,) = trends_at(series, 12)
    assert trend.value == 70.0
    assert trend.change_previous == pytest.approx(2.0)
    assert trend.change_4w == pytest.approx(70 - 65)
    assert trend.change_12w == pytest.approx(70 - np.mean(series[0, :12]))


def test_a_big_move_against_a_steady_history_is_notable_and_a_wobble_is_not() -> None:
    steady = [70.0, 71.0, 69.0, 70.0, 70.5, 69.5, 70.0, 71.0]
    jump, wobble = np.array([[*steady, 55.0]]), np.array([[*steady, 71.0]])
    assert trends_at(jump, 8)[0].notable
    assert trends_at(jump, 8)[0].z < -5
    assert not trends_at(wobble, 8)[0].notable


def test_nothing_is_notable_without_three_weeks_of_history() -> None:
    (trend,) = trends_at(np.array([[70.0, NAN, 20.0]]), 2)
    assert trend.change_previous == pytest.approx(-50.0)
    assert trend.standard_error is None
    assert not trend.notable


def test_the_previous_value_skips_weeks_the_driver_was_not_asked_or_was_hidden() -> None:
    (trend,) = trends_at(np.array([[3.0, NAN, 4.0, NAN, NAN, 2.5]]), 5)
    assert trend.previous == 4.0
    assert trend.change_previous == pytest.approx(-1.5)


def test_a_missing_week_has_no_value_and_no_changes() -> None:
    (trend,) = trends_at(np.array([[3.0, 3.2, 3.1, NAN]]), 3)
    assert (trend.value, trend.change_previous, trend.change_12w, trend.notable) == (None, None, None, False)


def test_the_first_week_has_no_history_at_all() -> None:
    (trend,) = trends_at(np.array([[3.0]]), 0)
    assert (trend.value, trend.previous, trend.change_4w) == (3.0, None, None)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=1, max_size=20))
def test_trends_never_crash_and_notable_needs_a_known_error(values: list[float | None]) -> None:
    series = np.array([[NAN if v is None else v for v in values]])
    (trend,) = trends_at(series, len(values) - 1)
    if trend.notable:
        assert trend.standard_error is not None and trend.value is not None
