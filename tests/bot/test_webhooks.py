"""Helpdesk webhooks through the real HTTP server: verified, kept, read, deduplicated and attributed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from jobs.helpdesk.ingest import replay_failed
from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.helpdesk.providers import PROVIDERS
from storage.db import transaction
from storage.helpdesk_events import recent_event_counts
from storage.helpdesk_map import map_group
from storage.models import HelpdeskEvent, WebhookDelivery
from tests.live_server import LiveServer, Reply
from tests.pulse_fixtures import PulseWorld, make_world, serve_tandem
from tests.slack_standin import SlackStandin

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "helpdesk"
SECRETS = {
    "zendesk": "zendesk-signing-secret",
    "intercom": "intercom-client-secret",
    "helpscout": "helpscout-secret-key",
    "freshdesk": "freshdesk-shared-token",
    "generic": "generic-bearer-token",
}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@dataclass
class Helpdesks:
    world: PulseWorld
    server: LiveServer
    ingest: WebhookIngest

    def post(self, provider: str, body: bytes, headers: dict[str, str]) -> Reply:
        """The server's answer, once what it took is in the database with its events (just after the answer)."""
        reply = self.server.request(
            "POST", f"/webhooks/{provider}", body, {"Content-Type": "application/json", **headers}
        )
        assert self.ingest.flush(10)
        return reply

    def generic(self, payload: dict[str, Any], token: str = SECRETS["generic"]) -> Reply:
        return self.post("generic", json.dumps(payload).encode(), {"Authorization": f"Bearer {token}"})

    def count(self, model: type, *where: Any) -> int:
        with self.world.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    def counts(self) -> tuple[int, int, int]:
        with self.world.factory() as session:
            return recent_event_counts(session, NOW - timedelta(days=30))


@pytest.fixture
def helpdesks(engine: Engine, standin: SlackStandin) -> Iterator[Helpdesks]:
    world = make_world(engine, standin, NOW)
    ingest = WebhookIngest(world.factory)
    with serve_tandem(engine, standin, world.factory, world.clock, SECRETS, ingest) as server:
        yield Helpdesks(world, server, ingest)


def solved(event_id: str, ticket: str = "T-1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "solved", "ticket_id": ticket, "occurred_at": "2026-11-23T15:00:00Z", **extra}


def test_a_generic_outcome_is_stored_once_however_often_it_is_sent(helpdesks: Helpdesks) -> None:
    first = helpdesks.generic(solved("evt-1", agent_email="Person3@example.com"))
    assert first.status == 200, first.text
    assert json.loads(first.body)["events"] == 1
    again = helpdesks.generic(solved("evt-1", agent_email="Person3@example.com"))
    assert again.status == 200 and json.loads(again.body) == {"ok": True, "events": 1}
    assert helpdesks.count(HelpdeskEvent) == 1
    assert helpdesks.count(WebhookDelivery) == 1


def test_a_wrong_token_is_refused_and_nothing_is_kept(helpdesks: Helpdesks) -> None:
    reply = helpdesks.generic(solved("evt-1"), token="guess")
    assert reply.status == 401 and "does not match" in json.loads(reply.body)["error"]
    assert helpdesks.count(WebhookDelivery) == 0


def test_an_unknown_helpdesk_is_not_found(helpdesks: Helpdesks) -> None:
    assert helpdesks.post("jira", b"{}", {}).status == 404


def test_a_doubled_slash_is_not_found_with_a_reason_rather_than_redirected(helpdesks: Helpdesks) -> None:
    reply = helpdesks.post("/generic", json.dumps(solved("evt-1")).encode(), {"Authorization": "Bearer x"})
    assert reply.status == 404 and "error" in json.loads(reply.body)
    assert helpdesks.count(WebhookDelivery) == 0


def test_a_body_over_a_megabyte_is_refused_before_it_is_read(helpdesks: Helpdesks) -> None:
    reply = helpdesks.post("generic", b"x" * (1024 * 1024 + 1), {"Authorization": f"Bearer {SECRETS['generic']}"})
    assert reply.status == 413
    assert helpdesks.count(WebhookDelivery) == 0


def test_an_authentic_payload_that_cannot_be_read_is_kept_and_answered_400(helpdesks: Helpdesks) -> None:
    reply = helpdesks.post("generic", b"not json at all", {"Authorization": f"Bearer {SECRETS['generic']}"})
    assert reply.status == 400
    assert "kept" in json.loads(reply.body)["error"]
    assert helpdesks.count(WebhookDelivery, WebhookDelivery.status == "failed") == 1
    assert b"Traceback" not in reply.body


def test_a_kept_payload_is_read_again_by_replay_once_the_parser_reads_it(helpdesks: Helpdesks) -> None:
    helpdesks.generic(solved("evt-7"))
    with transaction(helpdesks.world.factory) as session:
        # As if an older Tandem had failed on it: the payload is kept, its outcome was never stored.
        session.execute(update(WebhookDelivery).values(status="failed", error="old parser"))
        session.execute(HelpdeskEvent.__table__.delete())
    assert replay_failed(helpdesks.world.factory, PROVIDERS) == (1, 0)
    assert replay_failed(helpdesks.world.factory, PROVIDERS) == (0, 0)
    assert helpdesks.count(HelpdeskEvent) == 1


def test_a_rating_before_the_solve_is_kept_and_both_count(helpdesks: Helpdesks) -> None:
    rated = {"event_id": "evt-r", "type": "rated", "ticket_id": "T-9", "occurred_at": "2026-11-23T16:00:00Z"}
    assert helpdesks.generic({**rated, "rating": "good"}).status == 200
    assert helpdesks.generic(solved("evt-s", ticket="T-9")).status == 200
    assert helpdesks.count(HelpdeskEvent, HelpdeskEvent.ticket_id == "T-9") == 2


def test_the_resolution_time_comes_from_an_earlier_event_of_the_ticket(helpdesks: Helpdesks) -> None:
    opened = "2026-11-23T09:00:00Z"
    reply = {"event_id": "evt-a", "type": "replied", "ticket_id": "T-5", "occurred_at": "2026-11-23T10:00:00Z"}
    helpdesks.generic({**reply, "ticket_created_at": opened})
    helpdesks.generic(solved("evt-b", ticket="T-5"))
    with helpdesks.world.factory() as session:
        seconds = session.scalar(select(HelpdeskEvent.resolution_seconds).where(HelpdeskEvent.kind == "solved"))
    assert seconds == 6 * 3600


def test_unattributed_events_become_attributed_when_their_group_is_mapped(helpdesks: Helpdesks) -> None:
    helpdesks.generic(solved("evt-g", group="Tier 1  EMEA"))
    assert helpdesks.counts() == (1, 1, 1)
    team = helpdesks.world.add_team("Support", 0, 5)
    with transaction(helpdesks.world.factory) as session:
        map_group(session, "tier 1 emea", team, NOW)
    assert helpdesks.counts() == (1, 1, 0)


def test_an_agents_email_attributes_the_event_to_their_teams(helpdesks: Helpdesks) -> None:
    helpdesks.world.add_team("Support", 0, 5)  # person0…person4@example.com
    helpdesks.generic(solved("evt-m", agent_email="PERSON2@example.com"))
    helpdesks.generic(solved("evt-n", agent_email="stranger@example.com"))
    assert helpdesks.counts() == (2, 2, 1)


def test_a_signed_zendesk_event_is_read(helpdesks: Helpdesks) -> None:
    body = (FIXTURES / "zendesk" / "event_ticket_status_changed_solved.json").read_bytes()
    headers = {**signed("zendesk", body), "X-Zendesk-Webhook-Id": "01GXYZ"}
    reply = helpdesks.post("zendesk", body, headers)
    assert reply.status == 200, reply.text
    with helpdesks.world.factory() as session:
        kinds = session.execute(select(HelpdeskEvent.kind, HelpdeskEvent.ticket_id)).all()
    assert [tuple(k) for k in kinds] == [("solved", "5158")]
    bad = {**headers, "X-Zendesk-Webhook-Signature": base64.b64encode(b"x" * 32).decode()}
    assert helpdesks.post("zendesk", body, bad).status == 401


def test_a_signed_intercom_notification_is_read(helpdesks: Helpdesks) -> None:
    body = (FIXTURES / "intercom" / "conversation_admin_closed.json").read_bytes()
    reply = helpdesks.post("intercom", body, signed("intercom", body))
    assert reply.status == 200, reply.text
    assert helpdesks.count(HelpdeskEvent, HelpdeskEvent.kind == "solved") == 1


def test_a_helpdesk_without_a_secret_is_refused(engine: Engine, standin: SlackStandin) -> None:
    world = make_world(engine, standin, NOW)
    with serve_tandem(engine, standin, world.factory, world.clock, helpdesk_secrets={}) as server:
        reply = server.request("POST", "/webhooks/generic", b"{}", {"Authorization": "Bearer x"})
    assert reply.status == 401 and "TANDEM_WEBHOOK_TOKEN" in json.loads(reply.body)["error"]


def test_a_freshdesk_rule_without_dates_happened_when_it_arrived(helpdesks: Helpdesks) -> None:
    body = (FIXTURES / "freshdesk" / "status_changed.json").read_bytes()
    reply = helpdesks.post("freshdesk", body, {"X-Tandem-Token": SECRETS["freshdesk"]})
    assert reply.status == 200, reply.text
    with helpdesks.world.factory() as session:
        stored = session.execute(select(HelpdeskEvent.kind, HelpdeskEvent.occurred_at)).all()
    assert len(stored) == 1 and stored[0].kind == "reopened"
    assert abs((stored[0].occurred_at - datetime.now(UTC)).total_seconds()) < 60


def test_concurrent_copies_of_each_delivery_are_all_answered_and_stored_exactly_once(helpdesks: Helpdesks) -> None:
    # 16 events, each sent by two senders at once: the copies race, in one batch (or group) or in two.
    payloads = [solved(f"evt-{n % 16}", ticket=f"T-{n % 16}") for n in range(32)]

    def send(payload: dict[str, Any]) -> dict[str, Any]:
        reply = helpdesks.server.request(
            "POST", "/webhooks/generic", json.dumps(payload).encode(), {"Authorization": f"Bearer {SECRETS['generic']}"}
        )
        assert reply.status == 200, reply.text
        return json.loads(reply.body)

    with ThreadPoolExecutor(len(payloads)) as pool:
        answers = list(pool.map(send, payloads))
    assert answers == [{"ok": True, "events": 1}] * 32
    assert helpdesks.ingest.flush(10)
    assert helpdesks.count(WebhookDelivery) == helpdesks.count(HelpdeskEvent) == 16


def signed(provider: str, body: bytes) -> dict[str, str]:
    """The headers each helpdesk sends with `body`, signed (or carrying the token) as its docs describe."""
    secret = SECRETS[provider].encode()
    if provider == "zendesk":
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = base64.b64encode(hmac.new(secret, stamp.encode() + body, hashlib.sha256).digest()).decode()
        return {"X-Zendesk-Webhook-Signature": digest, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    if provider == "intercom":
        return {"X-Hub-Signature": "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()}
    if provider == "helpscout":
        digest = base64.b64encode(hmac.new(secret, body, hashlib.sha1).digest()).decode()
        return {"X-HelpScout-Signature": digest, "X-HelpScout-Event": "satisfaction.ratings"}
    return {"X-Tandem-Token": SECRETS[provider]}


@pytest.mark.parametrize(
    ("provider", "fixture", "kinds"),
    [
        ("zendesk", "zendesk/event_ticket_status_changed_solved.json", ["solved"]),
        ("intercom", "intercom/conversation_admin_closed.json", ["solved"]),
        ("helpscout", "helpscout/satisfaction_ratings.json", ["rated"]),
        ("freshdesk", "freshdesk/status_changed.json", ["reopened"]),
    ],
)
def test_each_helpdesks_real_payload_is_read_and_stored_once_however_often_it_is_sent(
    helpdesks: Helpdesks, provider: str, fixture: str, kinds: list[str]
) -> None:
    body = (FIXTURES / fixture).read_bytes()
    first = helpdesks.post(provider, body, signed(provider, body))
    assert first.status == 200, first.text
    assert json.loads(first.body) == {"ok": True, "events": len(kinds)}
    retry = helpdesks.post(provider, body, signed(provider, body))  # the helpdesk did not hear the answer
    assert retry.status == 200 and json.loads(retry.body) == {"ok": True, "events": len(kinds)}
    with helpdesks.world.factory() as session:
        stored = session.scalars(select(HelpdeskEvent.kind).where(HelpdeskEvent.provider == provider)).all()
    assert sorted(stored) == kinds
    assert helpdesks.count(WebhookDelivery, WebhookDelivery.status == "parsed") == 1


def test_intercoms_ping_is_kept_ignored_and_says_why(helpdesks: Helpdesks) -> None:
    body = json.dumps({"type": "notification_event", "topic": "ping", "id": None, "data": {"item": {"type": "ping"}}})
    reply = helpdesks.post("intercom", body.encode(), signed("intercom", body.encode()))
    assert reply.status == 200, reply.text
    assert json.loads(reply.body) == {"ok": True, "events": 0, "ignored": "ping"}
    assert helpdesks.count(WebhookDelivery, WebhookDelivery.status == "ignored") == 1
