"""`tandem digest` and `tandem export` as a user runs them: a real subprocess over real closed rounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from tests.cli_runner import run_tandem
from tests.pulse_fixtures import PulseWorld, make_world, run_round
from tests.slack_standin import SlackStandin

QUIET = {"TANDEM_LOG_LEVEL": "WARNING"}
START = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)  # Tuesday of 2026-W41


@pytest.fixture
def world(engine: Engine, standin: SlackStandin) -> PulseWorld:
    world = make_world(engine, standin, START)
    support = world.add_team("Support", first_user=1, size=6)
    tiny = world.add_team("Tiny", first_user=30, size=3)
    for value in (4, 4, 2):
        run_round(world, support, {f"U{i:08d}": value for i in range(1, 7)}, close=False)
        run_round(world, tiny, {f"U{i:08d}": 5 for i in range(30, 33)})  # closes both, a week passes
    return world


def test_digest_prints_every_team_as_json_with_suppressed_cells_marked(
    tmp_path: Path, world: PulseWorld, database_url: str
) -> None:
    result = run_tandem(
        "digest", "--week", "2026-W43", "--format", "json", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == 1 and document["week"] == "2026-W43"
    teams = {d["team"]: d for d in document["digests"]}
    assert set(teams) == {"Support", "Tiny"}
    tiny_engagement = next(line for line in teams["Tiny"]["ex"] if line["key"] == "engagement")
    assert tiny_engagement["value"] is None
    assert tiny_engagement["note"] == "not enough answers to show"


def test_digest_for_one_team_in_text(tmp_path: Path, world: PulseWorld, database_url: str) -> None:
    result = run_tandem(
        "digest", "--team", "Support", "--week", "2026-W43", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET
    )
    assert result.returncode == 0, result.stderr
    assert "Support" in result.stdout and "Tiny" not in result.stdout


@pytest.mark.parametrize("week", ["2026-47", "2026-W54", "last week", "2026-W4"])
def test_a_week_in_the_wrong_format_is_a_usage_error(tmp_path: Path, week: str) -> None:
    result = run_tandem("digest", "--week", week, cwd=tmp_path, **QUIET)
    assert result.returncode == 2
    assert "write it like 2026-W47" in result.stderr


def test_an_unknown_team_is_a_usage_error_naming_it(tmp_path: Path, engine: Engine, database_url: str) -> None:
    result = run_tandem("digest", "--team", "Nobody", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)
    assert result.returncode == 2
    assert "'Nobody'" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_export_writes_the_anonymized_panel_with_an_all_teams_row(
    tmp_path: Path, world: PulseWorld, database_url: str, form: str
) -> None:
    result = run_tandem(
        "export", "--format", form, "--week", "2026-W43", "--weeks", "6", cwd=tmp_path,
        TANDEM_DATABASE_URL=database_url, **QUIET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"tandem-panel-2026-W43.{form}"
    frame = pd.read_csv(path) if form == "csv" else pd.read_parquet(path)
    assert set(frame["team"]) == {"Support", "Tiny", "All teams"}
    assert len(frame) == 3 * 6
    tiny = frame[frame["team"] == "Tiny"]
    assert tiny["engagement"].isna().all()  # 3 people, k = 5
    support = frame[(frame["team"] == "Support") & frame["engagement"].notna()]
    assert len(support) == 3
    assert any(column.startswith("driver_") for column in frame.columns)
    # Closing Tiny's rounds dropped its answers (under k), so the org total holds Support's alone and
    # subtracting Support from it reveals nothing about Tiny.
    # (The roll-up's index pools the drivers asked that week; a team's keeps rotated drivers 4 weeks.)
    total = frame[(frame["team"] == "All teams") & frame["engagement"].notna()]
    assert total["engagement"].tolist() == [75.0, 75.0, 25.0]
    assert total["respondents"].tolist() == [9, 9, 9]  # the participation ledger counts Tiny's people
