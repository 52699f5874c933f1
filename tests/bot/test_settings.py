from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

TOKEN = "xoxb-1111-2222-abcdefabcdef"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_it_uses_the_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path / "missing.env")
    assert settings.database_url == "sqlite:///tandem.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert (settings.scheduler, settings.log_level, settings.log_format) == ("auto", "INFO", "text")
    assert (settings.workers, settings.threads, settings.pin_workers) == (2, 8, "auto")


def test_it_reads_a_dotenv_file_and_lets_the_environment_win(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f'SLACK_BOT_TOKEN={TOKEN}\nTANDEM_PORT=4000\n# a comment\nTANDEM_HOST="0.0.0.0"\n')
    settings = load_settings({"TANDEM_PORT": "5000"}, env_file)
    assert settings.slack_bot_token == TOKEN
    assert settings.port == 5000
    assert settings.host == "0.0.0.0"


def test_it_names_a_missing_secret_and_where_to_find_it() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": TOKEN}, None)
    with pytest.raises(SettingsError) as error:
        settings.require_slack()
    assert str(error.value) == (
        "SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic Information page (App Credentials)"
    )


def test_it_refuses_a_token_that_is_not_a_bot_token_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"SLACK_BOT_TOKEN": "xoxp-user-token-secret"}, None)
    assert "SLACK_BOT_TOKEN" in str(error.value)
    assert "xoxp-user-token-secret" not in str(error.value)


def test_it_refuses_a_malformed_signing_secret_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"SLACK_SIGNING_SECRET": "short secret"}, None)
    assert "SLACK_SIGNING_SECRET is malformed" in str(error.value)
    assert "short secret" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TANDEM_PORT", "http", "TANDEM_PORT must be a whole number between 1 and 65535"),
        ("TANDEM_PORT", "70000", "TANDEM_PORT must be between 1 and 65535, not 70000"),
        ("TANDEM_SCHEDULER", "sometimes", "TANDEM_SCHEDULER must be one of on, off, auto, not 'sometimes'"),
        ("TANDEM_PIN_WORKERS", "always", "TANDEM_PIN_WORKERS must be one of auto, on, off, not 'always'"),
        ("TANDEM_LOG_FORMAT", "xml", "TANDEM_LOG_FORMAT must be one of text, json, not 'xml'"),
        ("TANDEM_LOG_LEVEL", "loud", "TANDEM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("TANDEM_SLACK_API_URL", "slack.com", "TANDEM_SLACK_API_URL must be an http(s) URL"),
        ("TANDEM_DATABASE_URL", "not a url", "TANDEM_DATABASE_URL is not a database URL"),
        ("TANDEM_DATABASE_URL", "mysql://localhost/x", "TANDEM_DATABASE_URL uses 'mysql'"),
    ],
)
def test_it_explains_each_malformed_setting_in_one_line(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({name: value}, None)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_it_adds_the_trailing_slash_slack_sdk_needs_to_the_api_url() -> None:
    assert load_settings({"TANDEM_SLACK_API_URL": "http://127.0.0.1:9/api"}, None).slack_api_url == (
        "http://127.0.0.1:9/api/"
    )


def test_it_uses_psycopg_for_a_plain_postgresql_url() -> None:
    url = load_settings({"TANDEM_DATABASE_URL": "postgresql://db.internal/tandem"}, None).database_url
    assert url == "postgresql+psycopg://db.internal/tandem"


def test_it_never_shows_secrets_in_its_repr_or_the_database_password() -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "TANDEM_DATABASE_URL": "postgresql+psycopg://tandem:hunter2@db/tandem",
            "TANDEM_ZENDESK_SECRET": "zendesk-secret-value",
        },
        None,
    )
    shown = repr(settings) + repr(settings.slack_bot_token) + settings.database_url_for_display
    for secret in (TOKEN, SECRET, "hunter2", "zendesk-secret-value"):
        assert secret not in shown
    assert isinstance(settings, Settings)
