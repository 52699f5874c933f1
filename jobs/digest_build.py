"""The digests of a week: the database's aggregates -> panel -> anonymity -> trends, link and content.

One pass for all teams: the cost grows with teams and weeks, not with the answers behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from jobs.anonymity import publish_panel
from jobs.digest import CommentLine, Digest, build_digests
from jobs.exlink import each_team_link, link_sentence, pooled_links, strongest_link
from jobs.panel import Panel, build_panel
from storage.panel_data import load_panel_data, week_comments, week_monday

# Trends and the chart look back 12 weeks; the EX-CX link needs longer series to find a lag of up to 8.
HISTORY_WEEKS = 26


@dataclass(frozen=True)
class PublishedPanel:
    weeks: list[date]
    panel: pd.DataFrame
    drivers: pd.DataFrame
    team_names: dict[int, str]


def published_panel(session: Session, last_week: date, history_weeks: int = HISTORY_WEEKS) -> PublishedPanel:
    """The panel of the `history_weeks` weeks up to `last_week`, as managers may see it."""
    last = week_monday(last_week)
    weeks = [last - timedelta(weeks=back) for back in reversed(range(history_weeks))]
    data = load_panel_data(session, weeks[0], last)
    raw: Panel = build_panel(data, weeks)
    panel, drivers = publish_panel(raw.panel, raw.drivers)
    names = dict(zip(data.teams["team_id"].astype(int), data.teams["name"], strict=True))
    return PublishedPanel(weeks, panel, drivers, names)


def week_digests(
    session: Session, week: date, driver_names: Mapping[str, str], team_ids: Iterable[int] | None = None
) -> list[Digest]:
    """The digest of every team (or of `team_ids`) for the ISO week starting `week`'s Monday."""
    published = published_panel(session, week)
    wanted = None if team_ids is None else set(team_ids)
    comments = {
        team: [CommentLine(text, driver, opened_on) for driver, text, opened_on in rows]
        for team, rows in week_comments(session, week_monday(week), None if wanted is None else list(wanted)).items()
    }
    digests = build_digests(
        published.panel,
        published.drivers,
        published.team_names,
        week_monday(week),
        driver_names,
        comments,
        link_sentences(published, wanted),
    )
    return [d for d in digests if wanted is None or d.team_id in wanted]


def link_sentences(published: PublishedPanel, team_ids: set[int] | None) -> dict[int, str | None]:
    """A team's own EX-CX link when its history shows one, else the pattern across all teams, if any."""
    across = link_sentence(strongest_link(pooled_links(published.panel, published.drivers)))
    own = each_team_link(published.panel, published.drivers)
    return {
        team_id: link_sentence(own.get(team_id), name) or across
        for team_id, name in published.team_names.items()
        if team_ids is None or team_id in team_ids
    }
