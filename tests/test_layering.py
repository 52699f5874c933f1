"""Dependency direction bot -> jobs -> storage, and a pure core that imports no Slack, SQL or bot code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pure modules: plain functions over plain values, importable without Slack or a database.
PURE_MODULES = [
    "jobs/members.py",
    "jobs/pacing.py",
    "jobs/pulse_schedule.py",
    "jobs/round_plan.py",
    "jobs/periods.py",
    "jobs/question_bank.py",
    "jobs/rotation.py",
    "jobs/sentiment.py",
    "jobs/panel.py",
    "jobs/trends.py",
    "jobs/exlink.py",
    "jobs/digest.py",
    "jobs/digest_text.py",
    "jobs/digest_words.py",
    "jobs/home_summary.py",
    "jobs/anonymity.py",
    "jobs/chart.py",
    "jobs/demo_org.py",
    "jobs/demo_directory.py",
    "jobs/demo_pulses.py",
    "jobs/demo_comments.py",
    "jobs/demo_helpdesk.py",
    "jobs/demo_story.py",
    "jobs/demo_text.py",
    "jobs/demo_names.py",
    "bot/blocks/preview_html.py",
    "jobs/imports/csv_rows.py",
    "jobs/imports/ticket_rows.py",
    "jobs/imports/pulse_rows.py",
    "jobs/helpdesk/zendesk.py",
    "jobs/helpdesk/freshdesk.py",
    "jobs/helpdesk/intercom.py",
    "jobs/helpdesk/helpscout.py",
    "jobs/helpdesk/generic.py",
    "jobs/helpdesk/providers.py",
    "jobs/helpdesk/values.py",
    "storage/records.py",
    "storage/home_records.py",
    "bot/slack_requests.py",
    "bot/commands.py",
    "bot/blocks/home.py",
]
FORBIDDEN_IN_PURE = (
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "alembic",
    "flask",
    "gunicorn",
    "bot",
    "storage.models",
    "storage.db",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_slack_database_or_web_code(module: str) -> None:
    own_package = module.split("/")[0]
    offending = {
        name
        for name in imported_modules(ROOT / module)
        for forbidden in FORBIDDEN_IN_PURE
        if (name == forbidden or name.startswith(forbidden + ".")) and not name.startswith(own_package + ".")
    }
    assert offending == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("jobs", ("bot", "slack_bolt", "slack_sdk", "flask")), ("storage", ("bot", "jobs", "slack_bolt", "slack_sdk"))],
)
def test_lower_layers_never_import_higher_ones(package: str, forbidden: tuple[str, ...]) -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in package_files(package)
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden
    }
    assert offending == set()
