"""Pure: does employee experience (EX) lead customer experience (CX)? The lagged EX -> CX link per team.

Managers want to know whether a dip in how their people feel shows up later in what customers feel. A naive
answer misleads in three ways, and each is handled here:

1. Teams differ. A calm, well-staffed team may have both good workload scores and good CSAT without either
   week-to-week movement being related. So EX and CX are demeaned within each team before pooling: only
   "this team's weeks above or below its own usual level" count (the within-team, fixed-effects correlation).
2. Small samples and drifting series look like links. Links are reported only past the minimums below, with
   a Fisher-z 95% interval; slowly drifting scores count as fewer independent weeks (lag-1 autocorrelation,
   Bretherton et al. 1999), so a shared trend is not taken for a lot of evidence.
3. Trying many lags finds something. 9 lags x 6 measure pairs = 54 looks; a link is `meaningful` only when
   its Bonferroni-adjusted interval (95% family-wise over all 54) excludes zero, and the chosen lag is the
   one with the clearest evidence, not the largest r.

What comes out is a leading indicator to watch, never a cause: the sentence says so. Pass the panel after
the anonymity engine: suppressed cells are NaN and simply drop out, like weeks without pulses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

PANEL_EX = ("engagement",)
DRIVER_EX = ("workload", "wellbeing")  # driver means from the long `drivers` table
EX_MEASURES = PANEL_EX + DRIVER_EX
CX_MEASURES = ("csat", "reopen_rate")
LAGS = range(9)  # CX at week t + lag against EX at week t, lag in calendar weeks

# Minimums. Pooled: a team joins only with 8+ overlapping weeks (fewer gives its own mean too much say),
# and the figure needs 30+ team-weeks from 3+ teams. A single team on its own needs 12+ overlapping weeks.
MIN_WEEKS_PER_TEAM = 8
MIN_TEAM_WEEKS = 30
MIN_TEAMS = 3
MIN_WEEKS_ONE_TEAM = 12

FAMILY = len(EX_MEASURES) * len(CX_MEASURES) * len(LAGS)  # looks taken, for the Bonferroni adjustment
Z_95 = NormalDist().inv_cdf(0.975)
Z_ADJUSTED = NormalDist().inv_cdf(1 - 0.05 / (2 * FAMILY))  # about 3.3 for 54 looks
_TINY = 1e-9  # deviations this small (relative) are rounding, not variation: 0.1 x 10 must not look like data
_R_MAX = 1 - 1e-12

LABELS = {
    "engagement": "engagement",
    "workload": "workload scores",
    "wellbeing": "wellbeing scores",
    "csat": "CSAT",
    "reopen_rate": "reopen rates",
}


@dataclass(frozen=True)
class LagLink:
    """How EX at week t relates to CX at week t + lag, within teams, with its sample and uncertainty.

    `team_id` is None for the pooled figure across teams. `ci_low`/`ci_high` are the plain 95% interval for
    display; `meaningful` uses the stricter Bonferroni-adjusted interval. `effective_n` is the sample after
    discounting team means and autocorrelation, the n the intervals stand on.
    """

    ex_measure: str
    cx_measure: str
    lag: int
    r: float
    ci_low: float
    ci_high: float
    team_weeks: int
    teams: int
    weeks: int  # distinct EX weeks that contributed
    effective_n: float
    meaningful: bool
    team_id: int | None = None

    @property
    def evidence(self) -> float:
        """Fisher z statistic: how many standard errors r is from zero, comparable across lags and pairs."""
        return abs(math.atanh(max(-_R_MAX, min(_R_MAX, self.r)))) * math.sqrt(max(self.effective_n - 3, 0.0))


def pooled_links(panel: pd.DataFrame, drivers: pd.DataFrame) -> list[LagLink]:
    """Every measure pair and lag that meets the pooled minimums, across all teams."""
    return _links(_grids(panel, drivers)[1], MIN_WEEKS_PER_TEAM, MIN_TEAM_WEEKS, MIN_TEAMS, None)


def single_team_links(panel: pd.DataFrame, drivers: pd.DataFrame, team_id: int) -> list[LagLink]:
    """Every measure pair and lag that meets the single-team minimum, for one team."""
    _, grids = _grids(panel[panel["team_id"] == team_id], drivers[drivers["team_id"] == team_id])
    return _links(grids, MIN_WEEKS_ONE_TEAM, MIN_WEEKS_ONE_TEAM, 1, team_id)


def each_team_link(panel: pd.DataFrame, drivers: pd.DataFrame) -> dict[int, LagLink]:
    """`ex_cx_link` of every team that has one, from one set of grids (a team's row is a view of them)."""
    teams, grids = _grids(panel, drivers)
    found = {}
    for row, team_id in enumerate(teams.tolist()):
        rows = {m: grid[row : row + 1] for m, grid in grids.items()}
        if "csat" not in rows and "reopen_rate" not in rows:
            continue
        link = strongest_link(_links(rows, MIN_WEEKS_ONE_TEAM, MIN_WEEKS_ONE_TEAM, 1, int(team_id)))
        if link is not None:
            found[int(team_id)] = link
    return found


def strongest_link(links: list[LagLink]) -> LagLink | None:
    """The meaningful link with the clearest evidence (shorter lag on a tie), or None."""
    return max((x for x in links if x.meaningful), key=lambda x: (x.evidence, -x.lag), default=None)


def ex_cx_link(panel: pd.DataFrame, drivers: pd.DataFrame, team_id: int | None = None) -> LagLink | None:
    """The one link worth telling a manager: pooled across teams, or for `team_id` alone; None if none is."""
    return strongest_link(
        pooled_links(panel, drivers) if team_id is None else single_team_links(panel, drivers, team_id)
    )


def link_sentence(result: LagLink | None, team_name: str | None = None) -> str | None:
    """One plain digest sentence for a meaningful link, framed as a pattern to watch; None otherwise.

    `team_name` names the team of a single-team result; a pooled result speaks of all teams.
    """
    if result is None or not result.meaningful:
        return None
    if result.team_id is None:
        sample, whose = (
            f"Across {result.teams:,} teams over {result.weeks:,} weeks ({result.team_weeks:,} team-weeks)",
            "a team's",
        )
    else:
        sample, whose = f"In {team_name or 'this team'} over {result.team_weeks:,} weeks", "the team's"
    when = {0: "came with", 1: "were followed about a week later by"}.get(
        result.lag, f"were followed about {result.lag} weeks later by"
    )
    direction = "lower" if result.r > 0 else "higher"
    return (
        f"{sample}, weeks when {LABELS[result.ex_measure]} dipped below {whose} usual level {when} {direction} "
        f"{LABELS[result.cx_measure]} (r = {result.r:.2f}, 95% CI {result.ci_low:.2f} to {result.ci_high:.2f}): "
        "a pattern to watch, not a proven explanation."
    )


def _week_numbers(weeks: pd.Series) -> np.ndarray:
    """Calendar week numbers (Monday-based), so a missing week stays a gap and lags count real weeks."""
    days = pd.to_datetime(weeks).to_numpy().astype("datetime64[D]").astype(np.int64)
    return (days - 4) // 7  # 1970-01-05 was a Monday


def _grids(panel: pd.DataFrame, drivers: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The team axis, and each measure as a teams x weeks array (NaN where missing) on the same axes."""
    sources = [(m, panel, panel[m]) for m in (*PANEL_EX, *CX_MEASURES) if m in panel]
    if "driver" in drivers:
        sources += [(m, rows, rows["mean"]) for m in DRIVER_EX if len(rows := drivers[drivers["driver"] == m])]
    if not any(len(frame) for _, frame, _ in sources):
        return np.array([], dtype=np.int64), {}
    teams = np.unique(np.concatenate([frame["team_id"].to_numpy() for _, frame, _ in sources]))
    numbers = {m: _week_numbers(frame["week"]) for m, frame, _ in sources}
    first = min(int(n.min()) for n in numbers.values() if len(n))
    width = max(int(n.max()) for n in numbers.values() if len(n)) - first + 1
    grids = {}
    for m, frame, values in sources:
        grid = np.full((len(teams), width), np.nan)
        grid[np.searchsorted(teams, frame["team_id"].to_numpy()), numbers[m] - first] = values.to_numpy(float)
        grids[m] = grid
    return teams, grids


def _demeaned(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each team's deviations from its own mean over the cells in `mask`, 0 elsewhere."""
    n = mask.sum(axis=1, keepdims=True)
    kept = np.where(mask, x, 0.0)
    mean = kept.sum(axis=1, keepdims=True) / np.maximum(n, 1)
    dev = np.where(mask, kept - mean, 0.0)
    return np.where(np.abs(dev) > _TINY * (1 + np.abs(mean)), dev, 0.0)


def _corr(dx: np.ndarray, dy: np.ndarray) -> float:
    """Correlation of already-centred values; NaN when either side does not vary."""
    sxx, syy = float((dx * dx).sum()), float((dy * dy).sum())
    return float((dx * dy).sum()) / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def _autocorrelation(grid: np.ndarray) -> float:
    """Within-team lag-1 autocorrelation of a measure: how much one week repeats the last."""
    mask = np.isfinite(grid)
    dev = _demeaned(grid, mask)
    both = mask[:, :-1] & mask[:, 1:]
    return _corr(np.where(both, dev[:, :-1], 0.0), np.where(both, dev[:, 1:], 0.0))


def _interval(r: float, effective_n: float, z: float) -> tuple[float, float]:
    """Fisher-z interval; the whole range when there is too little to say; always contains r."""
    if effective_n <= 3:
        return -1.0, 1.0
    centre, half = math.atanh(max(-_R_MAX, min(_R_MAX, r))), z / math.sqrt(effective_n - 3)
    return min(math.tanh(centre - half), r), max(math.tanh(centre + half), r)


def _links(
    grids: dict[str, np.ndarray], min_per_team: int, min_team_weeks: int, min_teams: int, team_id: int | None
) -> list[LagLink]:
    """Every (EX, CX, lag) that meets the minimums, vectorised over teams and weeks."""
    auto = {m: _autocorrelation(g) for m, g in grids.items() if g.shape[1] > 1}
    links = []
    for ex in (m for m in EX_MEASURES if m in grids):
        for cx in (m for m in CX_MEASURES if m in grids):
            width = grids[ex].shape[1]
            for lag in (lag for lag in LAGS if lag < width):
                x, y = grids[ex][:, : width - lag], grids[cx][:, lag:]
                mask = np.isfinite(x) & np.isfinite(y)
                per_team = mask.sum(axis=1)
                kept = per_team >= min_per_team
                mask &= kept[:, None]
                team_weeks, teams = int(per_team[kept].sum()), int(kept.sum())
                if team_weeks < min_team_weeks or teams < min_teams:
                    continue
                r = _corr(_demeaned(x, mask), _demeaned(y, mask))
                if math.isnan(r):
                    continue
                r = max(-1.0, min(1.0, r))
                phi = auto.get(ex, math.nan) * auto.get(cx, math.nan)
                shrink = (1 - phi) / (1 + phi) if phi > 0 else 1.0  # NaN or <= 0: no discount
                effective_n = shrink * (team_weeks - teams + 1)  # each extra team mean costs one week
                low, high = _interval(r, effective_n, Z_95)
                adj_low, adj_high = _interval(r, effective_n, Z_ADJUSTED)
                links.append(
                    LagLink(
                        ex_measure=ex,
                        cx_measure=cx,
                        lag=lag,
                        r=r,
                        ci_low=low,
                        ci_high=high,
                        team_weeks=team_weeks,
                        teams=teams,
                        weeks=int(mask.any(axis=0).sum()),
                        effective_n=effective_n,
                        meaningful=adj_low > 0 or adj_high < 0,
                        team_id=team_id,
                    )
                )
    return links
