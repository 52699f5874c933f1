"""Settings: read once from the environment (and an optional .env file), validated, passed down.

Nothing else in Tandem reads os.environ. Secrets are kept in `Secret` wrappers so that printing a
Settings object, or an error about one, never shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class SettingsError(ValueError):
    """A setting is missing or malformed. The message is one line a person can act on."""


class Secret(str):
    """A str that never shows its value in repr() (so not in logs or tracebacks either)."""

    def __repr__(self) -> str:
        return "Secret('****')" if self else "Secret('')"


SCHEDULER_MODES = ("on", "off", "auto")
PIN_MODES = ("auto", "on", "off")  # bot/worker_cores.py
LOG_FORMATS = ("text", "json")

# Where to find each required value: the second half of every "is not set" message.
WHERE_TO_GET = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "copy it from your Slack app's Basic Information page (App Credentials)",
}


@dataclass(frozen=True)
class Settings:
    slack_bot_token: Secret = field(default=Secret(""), repr=False)
    slack_signing_secret: Secret = field(default=Secret(""), repr=False)
    database_url: str = field(default="sqlite:///tandem.db", repr=False)  # may hold a password
    slack_api_url: str = "https://slack.com/api/"
    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = 2
    # 8, not more: on a 2-core machine more threads only queue on the GIL. Measured with 16 against 8
    # (benchmarks/bench_http.py, bench_ingest.py, bench_commands.py): the same throughput, p99 about halved.
    threads: int = 8
    # Each worker process on a core of its own: "auto" when every core gets as many (bot/worker_cores.py).
    pin_workers: str = "auto"
    scheduler: str = "auto"
    log_level: str = "INFO"
    log_format: str = "text"
    helpdesk_secrets: Mapping[str, Secret] = field(default_factory=dict, repr=False)

    def require_slack(self) -> None:
        """Raise SettingsError unless the Slack credentials needed to talk to Slack are present."""
        for name, value in (
            ("SLACK_BOT_TOKEN", self.slack_bot_token),
            ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
        ):
            if not value:
                raise SettingsError(f"{name} is not set: {WHERE_TO_GET[name]}")

    def require_bot_token(self) -> None:
        if not self.slack_bot_token:
            raise SettingsError(f"SLACK_BOT_TOKEN is not set: {WHERE_TO_GET['SLACK_BOT_TOKEN']}")

    @property
    def database_url_for_display(self) -> str:
        """The database URL with any password masked, safe for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


HELPDESK_SECRET_NAMES = (
    "TANDEM_ZENDESK_SECRET",
    "TANDEM_INTERCOM_SECRET",
    "TANDEM_HELPSCOUT_SECRET",
    "TANDEM_FRESHDESK_TOKEN",
    "TANDEM_WEBHOOK_TOKEN",
)


def load_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
    """Build Settings from `environ`, falling back to `env_file` for names the environment lacks."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)

    def get(name: str, default: str = "") -> str:
        return values.get(name, default).strip()

    token = get("SLACK_BOT_TOKEN")
    if token and not token.startswith("xoxb-"):
        raise SettingsError(
            "SLACK_BOT_TOKEN does not look like a bot token (it should start with xoxb-): "
            + WHERE_TO_GET["SLACK_BOT_TOKEN"]
        )
    signing_secret = get("SLACK_SIGNING_SECRET")
    if signing_secret and (len(signing_secret) < 16 or any(c.isspace() for c in signing_secret)):
        raise SettingsError(
            "SLACK_SIGNING_SECRET is malformed (expected a 32-character hex string): "
            + WHERE_TO_GET["SLACK_SIGNING_SECRET"]
        )

    return Settings(
        slack_bot_token=Secret(token),
        slack_signing_secret=Secret(signing_secret),
        database_url=_database_url(get("TANDEM_DATABASE_URL", "sqlite:///tandem.db")),
        slack_api_url=_api_url(get("TANDEM_SLACK_API_URL", "https://slack.com/api/")),
        host=get("TANDEM_HOST", "127.0.0.1") or "127.0.0.1",
        port=_int("TANDEM_PORT", get("TANDEM_PORT", "3000"), 1, 65535),
        workers=_int("TANDEM_WORKERS", get("TANDEM_WORKERS", "2"), 1, 64),
        threads=_int("TANDEM_THREADS", get("TANDEM_THREADS", "8"), 1, 256),
        pin_workers=_choice("TANDEM_PIN_WORKERS", get("TANDEM_PIN_WORKERS", "auto").lower(), PIN_MODES),
        scheduler=_choice("TANDEM_SCHEDULER", get("TANDEM_SCHEDULER", "auto").lower(), SCHEDULER_MODES),
        log_level=_log_level(get("TANDEM_LOG_LEVEL", "INFO").upper()),
        log_format=_choice("TANDEM_LOG_FORMAT", get("TANDEM_LOG_FORMAT", "text").lower(), LOG_FORMATS),
        helpdesk_secrets={name: Secret(get(name)) for name in HELPDESK_SECRET_NAMES if get(name)},
    )


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            "TANDEM_DATABASE_URL is not a database URL: use sqlite:///tandem.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise SettingsError(
            f"TANDEM_DATABASE_URL uses {url.get_backend_name()!r}, which Tandem does not support: "
            "use sqlite:///… or postgresql+psycopg://…"
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which Tandem does not install.
        raw = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return raw


def _api_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("TANDEM_SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    # slack_sdk joins method names with urljoin, which drops the last path segment without a slash.
    return raw if raw.endswith("/") else raw + "/"


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number between {low} and {high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _log_level(raw: str) -> str:
    if raw not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError("TANDEM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return raw
