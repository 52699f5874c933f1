"""The `tandem` command as a user runs it: a real subprocess, real settings, exit codes and one-line errors."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import make_engine
from storage.migrate import head_revision
from storage.models import Member
from tests.cli_runner import TANDEM, run_tandem, tandem_env
from tests.slack_signing import SIGNING_SECRET
from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user, slackbot


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["db"], ["db", "upgrade"], ["users"], ["users", "sync"], ["pulse"], ["pulse", "send"]]
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: tandem" in capsys.readouterr().out


def test_it_exits_2_with_usage_when_no_command_is_given(tmp_path: Path) -> None:
    result = run_tandem(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: tandem" in result.stderr


def test_serve_stops_with_exit_2_and_one_line_naming_the_missing_secret(tmp_path: Path) -> None:
    result = run_tandem("serve", cwd=tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tandem: SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic Information page "
        "(App Credentials)"
    ]


def test_serve_stops_with_exit_2_when_slack_rejects_the_token_and_never_prints_it(
    tmp_path: Path, standin: SlackStandin
) -> None:
    rejected = "xoxb-9999-revoked-token-value"
    result = run_tandem(
        "serve",
        cwd=tmp_path,
        SLACK_BOT_TOKEN=rejected,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TANDEM_SLACK_API_URL=standin.base_url,
        TANDEM_LOG_LEVEL="WARNING",
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("tandem: SLACK_BOT_TOKEN was rejected by Slack (invalid_auth): copy the Bot User OAuth Token")
    )
    assert rejected not in result.stderr + result.stdout
    assert SIGNING_SECRET not in result.stderr + result.stdout


def test_db_upgrade_migrates_once_and_then_reports_it_is_current(tmp_path: Path) -> None:
    first = run_tandem("db", "upgrade", cwd=tmp_path)
    second = run_tandem("db", "upgrade", cwd=tmp_path)
    assert (first.returncode, second.returncode) == (0, 0)
    assert first.stdout.strip() == f"database sqlite:///tandem.db is at revision {head_revision()} (was empty)"
    assert second.stdout.strip() == f"database sqlite:///tandem.db is at revision {head_revision()}"
    assert (tmp_path / "tandem.db").is_file()


def test_db_upgrade_exits_1_with_one_line_when_the_database_is_unreachable(tmp_path: Path) -> None:
    result = run_tandem(
        "db", "upgrade", cwd=tmp_path, TANDEM_DATABASE_URL="postgresql+psycopg://tandem:pw@127.0.0.1:1/x"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tandem: cannot migrate the database at postgresql+psycopg://tandem:***@127.0.0.1:1/x: ")
    assert "pw" not in result.stderr


def test_users_sync_shows_progress_on_a_terminal(tmp_path: Path, standin: SlackStandin) -> None:
    standin.users = [make_user(i) for i in range(1, 401)]
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [TANDEM, "users", "sync"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        env=tandem_env(SLACK_BOT_TOKEN=BOT_TOKEN, TANDEM_SLACK_API_URL=standin.base_url, TANDEM_LOG_LEVEL="WARNING"),
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=60)
    os.close(controller)
    assert process.returncode == 0
    assert b"\rsyncing users: 200 read in 1 page" in shown
    assert b"\rsyncing users: 400 read in 2 pages" in shown


def test_users_sync_pages_through_users_list_rides_out_a_429_and_is_idempotent(
    tmp_path: Path, standin: SlackStandin, database_url: str
) -> None:
    standin.users = [slackbot(), *(make_user(i) for i in range(1, 451))]
    standin.users += [make_user(900, bot=True), make_user(901, deleted=True)]
    standin.rate_limit("users.list", retry_after=1)
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "TANDEM_SLACK_API_URL": standin.base_url,
        "TANDEM_DATABASE_URL": database_url,
    }

    first = run_tandem("users", "sync", cwd=tmp_path, **settings)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        "453 Slack users seen: 451 new, 0 updated, 1 deleted in Slack (kept as inactive), 2 bots skipped"
    )
    list_calls = standin.calls_to("users.list")
    assert len(list_calls) == 1 + 3  # the rate-limited call, then three pages of 200
    assert list_calls[1].at - list_calls[0].at >= 1.0  # waited as long as Retry-After said
    assert {c.body.get("limit") for c in list_calls} == {"200"}

    second = run_tandem("users", "sync", cwd=tmp_path, **settings)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("453 Slack users seen: 0 new, 0 updated")

    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = {r.slack_user_id: r for r in connection.execute(select(Member))}
    engine.dispose()
    assert len(rows) == 451
    assert "USLACKBOT" not in rows
    assert rows["U00000901"].active is False
    assert rows["U00000002"].email == "person2@example.com"
    assert rows["U00000003"].tz == "Europe/Berlin"


def test_users_sync_exits_2_when_the_token_is_refused(tmp_path: Path, standin: SlackStandin) -> None:
    standin.fail("users.list", "invalid_auth")
    result = run_tandem("users", "sync", cwd=tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, TANDEM_SLACK_API_URL=standin.base_url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("tandem: SLACK_BOT_TOKEN was rejected by Slack")


def test_pulse_send_exits_2_naming_a_team_that_does_not_exist(tmp_path: Path, standin: SlackStandin) -> None:
    result = run_tandem(
        "pulse",
        "send",
        "--team",
        "Nobody",
        cwd=tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        TANDEM_SLACK_API_URL=standin.base_url,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "tandem: there is no team named 'Nobody': /pulse teams in Slack lists them"
    assert standin.calls_to("chat.postMessage") == []


def test_pulse_send_with_nothing_due_sends_nothing_and_says_so(tmp_path: Path, standin: SlackStandin) -> None:
    result = run_tandem("pulse", "send", cwd=tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, TANDEM_SLACK_API_URL=standin.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pulse DMs: 0 sent"
