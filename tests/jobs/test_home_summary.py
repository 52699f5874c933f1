"""jobs.home_summary: the managers' part of the App Home, through the anonymity engine (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from jobs.home_summary import manager_summaries
from tests.test_layering import FORBIDDEN_IN_PURE, imported_modules

MONDAY = date(2026, 11, 23)
ANSWER_COLUMNS = ["round_id", "question_key", "driver", "scale", "n", "total", "total_sq", "promoters", "detractors"]


def teams(*rows: tuple[int, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["team_id", "name", "k"])


def rounds(*rows: tuple[int, int, date, int, int | None, int]) -> pd.DataFrame:
    """(round, team, opened on, k, asked, respondents)."""
    frame = pd.DataFrame(rows, columns=["round_id", "team_id", "opened_on", "k", "asked", "respondents"])
    frame["week"] = pd.to_datetime([d - timedelta(days=d.weekday()) for d in frame["opened_on"]])
    return frame


def answers(*rows: tuple[int, str, str, int, float]) -> pd.DataFrame:
    """(round, question, driver, n, mean) on the 1-5 scale, or eNPS as (round, q, "enps", n, share of promoters)."""
    records = []
    for round_id, key, driver, n, value in rows:
        if driver == "enps":
            promoters = round(n * value)
            records.append((round_id, key, driver, "enps", n, 8.0 * n, 64.0 * n, promoters, 0))  # the rest passive
        else:
            records.append((round_id, key, driver, "agreement", n, value * n, value * value * n, 0, 0))
    return pd.DataFrame(records, columns=ANSWER_COLUMNS)


def test_it_shows_a_driver_that_k_people_answered_and_marks_one_with_fewer_hidden() -> None:
    (summary,) = manager_summaries(
        teams((1, "Support", 5)),
        rounds((10, 1, MONDAY, 5, 8, 6)),
        answers((10, "w1", "workload", 6, 4.0), (10, "g1", "growth", 3, 2.0), (10, "e", "enps", 6, 0.5)),
    )
    assert summary.shown and (summary.threshold, summary.asked, summary.answered) == (5, 8, 6)
    cells = {d.driver: d for d in summary.drivers}
    assert set(cells) == {"workload", "growth"} and summary.enps == 50
    assert cells["workload"].average == 4.0 and cells["workload"].answers == 6
    assert cells["growth"].hidden and cells["growth"].average is None and cells["growth"].answers == 3


def test_it_counts_the_people_behind_a_driver_not_its_answers() -> None:
    # Two questions of one driver, each answered by the same three people: three people, not six answers.
    (summary,) = manager_summaries(
        teams((1, "Support", 5)),
        rounds((10, 1, MONDAY, 5, 8, 6)),
        answers((10, "w1", "workload", 3, 4.0), (10, "w2", "workload", 3, 4.0)),
    )
    (cell,) = summary.drivers
    assert cell.answers == 3 and cell.hidden


def test_it_hides_every_score_of_a_week_that_fewer_than_k_answered() -> None:
    (summary,) = manager_summaries(
        teams((1, "Support", 5)), rounds((10, 1, MONDAY, 5, 8, 4)), answers((10, "w1", "workload", 4, 4.0))
    )
    assert not summary.shown and summary.drivers == () and summary.enps is None


def test_it_keeps_the_teams_order_and_says_which_have_no_closed_round() -> None:
    summaries = manager_summaries(
        teams((2, "Billing", 5), (1, "Support", 3)),
        rounds((10, 1, MONDAY, 3, 4, 3)),
        answers((10, "w1", "workload", 3, 5.0)),
    )
    assert [(s.team, s.opened_on) for s in summaries] == [("Billing", None), ("Support", MONDAY)]
    assert summaries[1].drivers[0].average == 5.0


def test_it_imports_no_slack_database_or_web_code() -> None:
    modules = imported_modules(Path(__file__).resolve().parents[2] / "jobs" / "home_summary.py")
    assert not {m for m in modules for f in FORBIDDEN_IN_PURE if m == f or m.startswith(f + ".")}
