"""Pure: what of the team-week panel (docs/panel.md) a manager may see. DESIGN.md section 4 is the why.

Every manager-facing output (digest, App Home, exports, alerts) takes its numbers from here, so the rules
live in one place:
1. A team's scores need at least k distinct people behind them, k being the row's own threshold;
   comments need max(k, 5); customer (CX) numbers need 3 credited agents.
2. The participation ledger (asked, respondents, participation) and the counts (`engagement_n`,
   `enps_n`, a driver's `n`, `agents`) are always shown: they say how many answered, never what.
3. A hidden cell becomes NaN and its `<column>_suppressed` flag is True. Rows are never dropped: a team
   below its threshold still appears, as "not enough answers to show".
4. Roll-ups (the org total, named groups of teams) are suppressed complementarily: see `rollup`.
What is hidden depends only on counts, thresholds and group membership, never on the answers, so the
pattern of gaps gives nothing away either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

NOT_ENOUGH = "not enough answers to show"
MIN_COMMENT_RESPONDENTS = 5
# CX numbers are credited to a team, but with one agent the team's CSAT *is* that agent's CSAT: a
# performance score of one person under a team's name. With two, each agent can subtract their own
# numbers from the team's and read the other's. From three on, an agent learns only the others' total.
MIN_CX_AGENTS = 3
NOT_ENOUGH_AGENTS = f"fewer than {MIN_CX_AGENTS} agents: not shown"
ORG_TOTAL = "All teams"

SUPPRESSIBLE_EX = ("engagement", "enps", "comments", "sentiment")
SUPPRESSIBLE_CX = ("solved", "reopened", "rated", "csat", "reopen_rate", "tickets_per_agent")
SUPPRESSIBLE_CX += ("first_response_median", "resolution_median")
SUPPRESSIBLE_DRIVER = ("mean", "sd")
LEDGER = ("asked", "respondents", "participation")  # always shown: who was asked and who answered
_KEY = ["team_id", "week"]


def score_visible(people: Any, k: Any) -> Any:
    """A score needs at least k distinct people behind it; works on numbers and on numpy arrays alike.
    A missing k or count (NaN) fails the comparison, so it hides."""
    return people >= k


def comments_visible(respondents: int, k: int) -> bool:
    """Comments need max(k, 5) respondents: a comment's wording identifies its author far more than a score."""
    return respondents >= max(k, MIN_COMMENT_RESPONDENTS)


def suppression_note(column: str) -> str:
    """The phrase the UI shows in place of a hidden `column`."""
    return NOT_ENOUGH_AGENTS if column in SUPPRESSIBLE_CX else NOT_ENOUGH


def publish_panel(panel: pd.DataFrame, drivers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The panel and its drivers as a manager may see them: the same rows, hidden cells NaN, plus flags.

    A threshold or count that is missing fails every comparison, so a malformed row is hidden, not shown.
    """
    if panel.duplicated(_KEY).any():
        raise ValueError("the panel has a team-week twice: which k applies to it is unknowable")
    k = _floats(panel["k"])
    row, driver_k = _driver_k(panel, drivers)
    n = _floats(drivers["n"])
    published_drivers = _hide(drivers, {column: (score_visible(n, driver_k), n) for column in SUPPRESSIBLE_DRIVER})

    # The engagement index is the mean of the driver means, so shown beside a hidden driver it would give
    # that driver away. engagement_n >= k already implies every driver has k answers; this makes it certain.
    driver_hidden = np.zeros(len(panel), dtype=bool)
    driver_hidden[row[published_drivers["mean_suppressed"].to_numpy() & (row >= 0)]] = True

    engagement_n, enps_n, respondents, agents = (
        _floats(panel[c]) for c in ("engagement_n", "enps_n", "respondents", "agents")
    )
    comments_ok = respondents >= np.maximum(k, MIN_COMMENT_RESPONDENTS)
    rules = {
        "engagement": (score_visible(engagement_n, k) & ~driver_hidden, engagement_n),
        "enps": (score_visible(enps_n, k), enps_n),
        "comments": (comments_ok, respondents),
        "sentiment": (comments_ok, respondents),
        **{column: (agents >= MIN_CX_AGENTS, agents) for column in SUPPRESSIBLE_CX},
    }
    return _hide(panel, rules), published_drivers


def rollup(
    panel: pd.DataFrame, drivers: pd.DataFrame, groups: Mapping[str, Sequence[int]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EX scores of groups of teams per week, weighted by answers, with complementary suppression.

    Returns group-week rows (group, week, k, teams, asked, respondents, participation, engagement,
    engagement_n, enps, enps_n and the two flags) and group-week-driver rows (group, week, driver, k, n,
    mean, mean_suppressed); k is the highest k of the teams involved. `groups` maps a name to team ids,
    most important first: when two roll-ups cannot both be shown, the earlier one is (see `_decide`).
    The default is the org total alone. Pass every group that any output shows in one call: suppression
    decided for some groups is not safe against the others. Engagement is the index of the group's
    pooled driver means, so it is shown only when all of them are.
    """
    groups = dict(groups) if groups is not None else {ORG_TOTAL: sorted(panel["team_id"].unique())}
    names = np.array(["", *pd.unique(drivers["driver"])], dtype=object)  # measure 0 is eNPS
    panel_week, weeks = pd.factorize(panel["week"], sort=True)
    team, week, measure, k, n, total = _measure_cells(panel, drivers, panel_week)
    keys, cell = np.unique(week * len(names) + measure, return_inverse=True)  # a cell: a week and a measure
    ids = [np.asarray(list(members)) for members in groups.values()]
    people, threshold, sums, shown = _decide(cell, len(keys), [np.isin(team, i) for i in ids], n, k, total)

    # Results on a grid of (group, week) positions, all groups at once.
    size, group_names = len(groups) * len(weeks), np.array(list(groups), dtype=object)
    group = np.repeat(np.arange(len(groups)), len(keys))
    week, measure = np.tile(keys // len(names), len(groups)), np.tile(keys % len(names), len(groups))
    some, at = people > 0, group * len(weeks) + week
    mean = np.where(shown, sums / np.where(some, people, 1), np.nan)
    score = some & (measure > 0)
    by_driver = pd.DataFrame(
        {
            "group": group_names[group],
            "week": weeks[week],
            "driver": names[measure],
            "k": threshold,
            "n": people,
            "mean": mean,
            "mean_suppressed": ~shown,
        }
    )[score].reset_index(drop=True)

    enps = some & (measure == 0)
    drivers_at = np.bincount(at[score], minlength=size)
    pooled = np.bincount(at[score], np.nan_to_num(mean[score]), size) / np.maximum(drivers_at, 1)
    engagement_hidden = np.bincount(at[score], ~shown[score], size) > 0
    engagement_n = np.full(size, np.nan)
    np.fmin.at(engagement_n, at[score], people[score])  # fmin: NaN (no driver yet) gives way to a number
    in_group = [np.flatnonzero(np.isin(panel["team_id"], i)) for i in ids]
    rows = np.concatenate([np.zeros(0, int), *in_group])
    row_at = np.repeat(np.arange(len(groups)), [len(r) for r in in_group]) * len(weeks) + panel_week[rows]
    asked, respondents = (np.bincount(row_at, np.nan_to_num(_floats(panel[c])[rows]), size) for c in LEDGER[:2])
    teams = np.bincount(row_at, minlength=size)
    grid = pd.DataFrame(
        {
            "group": np.repeat(group_names, len(weeks)),
            "week": np.tile(weeks, len(groups)),
            "k": _maxima(row_at, _floats(panel["k"])[rows], size),
            "teams": teams,
            "asked": asked.astype(np.int64),
            "respondents": respondents.astype(np.int64),
            "participation": respondents / np.where(asked > 0, asked, np.nan),
            "engagement": np.where((drivers_at > 0) & ~engagement_hidden, (pooled - 1) / 4 * 100, np.nan),
            "engagement_n": engagement_n,
            "enps": _spread(at[enps], mean[enps], size, np.nan),
            "enps_n": _spread(at[enps], people[enps], size, np.nan),
            "engagement_suppressed": engagement_hidden,
            "enps_suppressed": _spread(at[enps], ~shown[enps], size, False),
        }
    )
    return grid[teams > 0].reset_index(drop=True), by_driver


def _decide(
    cell: np.ndarray, cells: int, members: list[np.ndarray], n: np.ndarray, k: np.ndarray, total: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which roll-ups to show: people, k, sum and shown per group and cell, groups one after the other.

    Inputs are one entry per team and cell with answers (its cell, n, k, sum = mean * n); `members` says,
    per group, which entries belong to it. A cell is a week and a measure (eNPS or a driver): the
    unknowns of different cells never meet in one equation.

    Counts are shown, so every shown mean is a linear equation over the teams' sums. Subtracting the
    shown team cells leaves, for each shown roll-up, the sum over its hidden teams; combining roll-ups
    (differences of nested or overlapping groups) can isolate any set of hidden teams that are in exactly
    the same shown groups, an "atom", and nothing finer: every derivable value is constant on each atom
    and zero on hidden teams in no shown group. So a roll-up is shown only when it has k people (k: the
    highest of its teams) and, with it, every atom still has k people (k: the highest of the atom's
    teams). Any set that can be isolated is then a union of atoms and has k people too. A group that
    would break the rule is hidden and the next one tried, so the result is stable.
    """
    hidden = ~(n >= k)  # the team's own cell, by the same comparison as in publish_panel
    k = np.where(np.isnan(k), np.inf, k)  # an unknown k: nothing that includes the team is ever shown
    atom = cell.astype(np.int64)  # hidden teams share an atom while they are in the same shown groups
    covered = np.zeros(len(cell), dtype=bool)  # hidden teams in no shown group are in no equation at all
    people, threshold, sums = (np.zeros(len(members) * cells) for _ in range(3))
    shown = np.zeros(len(members) * cells, dtype=bool)
    for number, member in enumerate(members):
        part = slice(number * cells, (number + 1) * cells)
        atom_with = pd.factorize(atom * 2 + member)[0]
        watched = hidden & (covered | member)
        on = atom_with[watched]
        small = np.bincount(on, n[watched], len(cell)) < _maxima(on, k[watched], len(cell))
        breaks_an_atom = np.zeros(cells, dtype=bool)
        breaks_an_atom[cell[watched][small[on]]] = True
        people[part] = np.bincount(cell[member], n[member], cells)
        most = _maxima(cell[member], k[member], cells)
        shown[part] = (people[part] > 0) & (people[part] >= most) & ~breaks_an_atom
        threshold[part] = np.where(np.isfinite(most), most, np.nan)
        sums[part] = np.bincount(cell[member], total[member], cells)
        # Refine the atoms where the group is shown, renumbering all of them together so that atoms of
        # different cells never share a number.
        joins = member & shown[part][cell]
        atom = pd.factorize(atom * 2 + joins)[0]
        covered |= joins
    return people, threshold, sums, shown


def _hide(frame: pd.DataFrame, rules: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """A copy of `frame` with each ruled column NaN where not allowed, and its `_suppressed` flag.

    A rule is (allowed, base count). The flag follows the published count, not whether a value existed:
    "hidden" beside "none" would tell, for instance, that one of three respondents left a comment. So a
    row with a count of 0 is not flagged: there is nothing to hide. Where the count is unknown, a value
    that exists is reported hidden rather than missing."""
    columns: dict[str, pd.Series | np.ndarray] = {column: frame[column] for column in frame.columns}
    for column, (allowed, base) in rules.items():
        present = frame[column].notna().to_numpy()
        columns[column] = frame[column].where(allowed)  # an int column stays int when nothing is hidden
        columns[f"{column}_suppressed"] = ~allowed & ((base > 0) | (np.isnan(base) & present))
    return pd.DataFrame(columns, index=frame.index)


def _measure_cells(panel: pd.DataFrame, drivers: pd.DataFrame, panel_week: np.ndarray) -> tuple[np.ndarray, ...]:
    """team, week code, measure, k, n and sum (mean * n) of every team, week and measure with answers.

    The measure is 0 for eNPS and 1 + the driver's place in order of first appearance. A driver row
    without its team-week is left out: its k is unknown, so its team cell is hidden and no sum may use it."""
    row, driver_k = _driver_k(panel, drivers)
    enps_n, driver_n = _floats(panel["enps_n"]), _floats(drivers["n"])
    columns = (
        np.concatenate([panel["team_id"].to_numpy(), drivers["team_id"].to_numpy()]),
        np.concatenate([panel_week, np.append(panel_week, -1)[row]]),
        np.concatenate([np.zeros(len(panel), int), pd.factorize(drivers["driver"], use_na_sentinel=False)[0] + 1]),
        np.concatenate([_floats(panel["k"]), driver_k]),
        np.concatenate([enps_n, driver_n]),
        np.concatenate([_floats(panel["enps"]) * enps_n, _floats(drivers["mean"]) * driver_n]),
    )
    answered = (columns[4] > 0) & ~np.isnan(columns[5]) & np.concatenate([np.ones(len(panel), bool), row >= 0])
    return tuple(column[answered] for column in columns)


def _driver_k(panel: pd.DataFrame, drivers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each driver row's panel position (-1 if none) and its k from there (NaN if none, so hidden)."""
    # One integer per team-week: hashing integers is much cheaper than a MultiIndex lookup.
    team = pd.factorize(np.concatenate([panel["team_id"].to_numpy(), drivers["team_id"].to_numpy()]))[0]
    week, weeks = pd.factorize(np.concatenate([panel["week"].to_numpy(), drivers["week"].to_numpy()]))
    key = team * max(len(weeks), 1) + week
    row = pd.Index(key[: len(panel)]).get_indexer(key[len(panel) :])
    return row, np.append(_floats(panel["k"]), np.nan)[row]  # row -1 picks the NaN at the end


def _floats(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float, na_value=np.nan)


def _maxima(at: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -np.inf)
    np.maximum.at(out, at, values)
    return out


def _spread(at: np.ndarray, values: np.ndarray, size: int, missing: float | bool) -> np.ndarray:
    """`values` put at positions `at` of an array of `size`, `missing` elsewhere."""
    out = np.full(size, missing)
    out[at] = values
    return out
