"""Pure: how a team's numbers moved in a week, with an honest sense of noise.

Each series is a team's published values over past weeks (suppressed weeks are NaN, so a trend never
reveals a hidden value). A change is compared with the previous value, and with the mean of the team's
own last 4 and 12 weeks. Whether it is news is judged against the team's usual week-to-week spread:
the standard error of the change is `spread * sqrt(1 + 1/m)` for a baseline of m weeks (the spread already
holds sampling noise and ordinary ups and downs), and a change is `notable` when it is more than 1.96
standard errors (about 95%). With fewer than MIN_HISTORY earlier weeks nothing is called notable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_HISTORY = 3
Z_NOTABLE = 1.96

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trend:
    value: float | None
    previous: float | None  # the last published value before this week (drivers are not asked weekly)
    change_previous: float | None
    change_4w: float | None  # vs the mean of the 4 weeks before
    change_12w: float | None  # vs the mean of the 12 weeks before
    standard_error: float | None  # of change_12w; None without enough history
    notable: bool

    @property
    def z(self) -> float:
        """How many standard errors the change from the 12-week baseline is (0 when unknown)."""
        if self.change_12w is None or not self.standard_error:
            return 0.0
        return self.change_12w / self.standard_error


def trends_at(series: Array, week: int) -> list[Trend]:
    """Trends of every row of `series` (rows: teams or team-drivers, columns: consecutive weeks) at
    column `week`, computed for all rows at once."""
    current = series[:, week]
    history = series[:, max(0, week - 12) : week]
    last4 = series[:, max(0, week - 4) : week]
    previous = _last_known(history)
    # An all-NaN row (no history yet) makes nanmean warn; that is expected here, not a problem.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        base4, base12 = np.nanmean(last4, axis=1), np.nanmean(history, axis=1)
        count12 = np.sum(~np.isnan(history), axis=1)
        spread = np.nanstd(history, axis=1, ddof=1)
        error = spread * np.sqrt(1 + 1 / np.maximum(count12, 1))
    change12 = current - base12
    notable = (count12 >= MIN_HISTORY) & (error > 0) & (np.abs(change12) > Z_NOTABLE * error)
    return [
        Trend(
            value=_number(current[i]),
            previous=_number(previous[i]),
            change_previous=_number(current[i] - previous[i]),
            change_4w=_number(current[i] - base4[i]),
            change_12w=_number(change12[i]),
            standard_error=_number(error[i]) if count12[i] >= MIN_HISTORY else None,
            notable=bool(notable[i]),
        )
        for i in range(series.shape[0])
    ]


def _last_known(history: Array) -> Array:
    if history.shape[1] == 0:
        return np.full(history.shape[0], np.nan)
    known = ~np.isnan(history)
    last = history.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
    values = history[np.arange(history.shape[0]), last]
    return np.where(known.any(axis=1), values, np.nan)


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
