"""`tandem webhooks replay` as an admin runs it after a fix: a real subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from storage.db import make_session_factory, transaction
from storage.helpdesk_events import store_delivery
from storage.models import HelpdeskEvent, WebhookDelivery
from tests.cli_runner import run_tandem

QUIET = {"TANDEM_LOG_LEVEL": "WARNING"}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
READABLE = {"event_id": "evt-1", "type": "solved", "ticket_id": "T-1", "occurred_at": "2026-11-23T10:00:00Z"}


def keep_failed(engine: Engine, key: str, body: bytes) -> None:
    """A delivery an older Tandem could not read: kept with its payload, no outcome stored."""
    with transaction(make_session_factory(engine)) as session:
        store_delivery(session, "generic", key, NOW, "{}", body, "failed", "old parser", 0)


def test_replay_reads_the_kept_payloads_it_can_now_and_says_how_many_are_still_unreadable(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    keep_failed(engine, "readable", json.dumps(READABLE).encode())
    keep_failed(engine, "garbage", b"{not json")

    first = run_tandem("webhooks", "replay", cwd=tmp_path, TANDEM_DATABASE_URL=database_url, **QUIET)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "webhooks replayed: 1 read now, 1 still unreadable"
    again = run_tandem("webhooks", "replay", "--provider", "generic", cwd=tmp_path, TANDEM_DATABASE_URL=database_url)
    assert again.stdout.strip().endswith("webhooks replayed: 0 read now, 1 still unreadable")

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(HelpdeskEvent)).scalar_one() == 1
        statuses = dict(connection.execute(select(WebhookDelivery.delivery_key, WebhookDelivery.status)).all())
    assert statuses == {"readable": "parsed", "garbage": "failed"}


def test_replay_of_a_helpdesk_tandem_does_not_know_exits_2_naming_the_ones_it_does(
    tmp_path: Path, database_url: str
) -> None:
    result = run_tandem("webhooks", "replay", "--provider", "zendeks", cwd=tmp_path, TANDEM_DATABASE_URL=database_url)
    assert result.returncode == 2
    assert "there is no helpdesk called 'zendeks'" in result.stderr and "zendesk" in result.stderr
    assert "Traceback" not in result.stderr
