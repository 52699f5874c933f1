"""`tandem export`: the anonymized team-week panel as one flat table for analysts.

One row per team and week (docs/panel.md columns, suppressed cells empty with a `<column>_suppressed`
flag), driver means as `driver_<key>` columns, and an "All teams" row per week from the anonymity engine's
roll-up, suppressed complementarily so no difference with the team rows reveals a group below k.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from jobs.anonymity import ORG_TOTAL, publish_panel, rollup
from jobs.digest import iso_week
from jobs.panel import build_panel
from storage.panel_data import load_panel_data, week_monday


def export_frame(session: Session, last_week: date, weeks: int) -> pd.DataFrame:
    last = week_monday(last_week)
    mondays = [last - timedelta(weeks=back) for back in reversed(range(weeks))]
    data = load_panel_data(session, mondays[0], last)
    raw = build_panel(data, mondays)
    panel, drivers = publish_panel(raw.panel, raw.drivers)
    names = dict(zip(data.teams["team_id"], data.teams["name"], strict=True))
    panel.insert(1, "team", panel["team_id"].map(names))
    wide = _driver_columns(drivers, ["team_id", "week"])
    teams = panel.merge(wide, on=["team_id", "week"], how="left") if not wide.empty else panel
    totals, total_drivers = rollup(raw.panel, raw.drivers, {ORG_TOTAL: sorted(names)})
    totals = totals.rename(columns={"group": "team"})
    total_wide = _driver_columns(total_drivers.rename(columns={"group": "team"}), ["team", "week"])
    if not total_wide.empty:
        totals = totals.merge(total_wide, on=["team", "week"], how="left")
    frame = pd.concat([teams, totals], ignore_index=True)
    frame["week"] = [iso_week(w) for w in frame["week"]]
    return frame.sort_values(["week", "team"], kind="stable").reset_index(drop=True)


def _driver_columns(drivers: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if drivers.empty:
        return pd.DataFrame(columns=keys)
    wide = drivers.pivot_table(index=keys, columns="driver", values="mean", dropna=False)
    wide.columns = [f"driver_{driver}" for driver in wide.columns]
    return wide.reset_index()
