"""A running Tandem for admin scenarios: the real HTTP server and bolt app, a migrated database, the stand-in.

`world.slash(text)` sends `/pulse text` signed like Slack and returns the ephemeral answer's text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from storage.db import SessionFactory, make_session_factory
from tests.live_server import LiveServer, Reply
from tests.pulse_fixtures import serve_tandem
from tests.pulse_payloads import slash_command
from tests.slack_signing import form_request, interaction_request
from tests.slack_standin import SlackStandin, make_user

ADMIN = "U00000000"  # make_user(0) is the workspace's primary owner
PEOPLE = [make_user(i, tz="Europe/London") for i in range(0, 12)]


@dataclass
class AdminWorld:
    engine: Engine
    factory: SessionFactory
    standin: SlackStandin
    server: LiveServer
    now: datetime

    def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        return self.server.request("POST", "/slack/events", body, headers)

    def slash(self, text: str, user: str = ADMIN) -> str:
        """`/pulse text` as `user`; the ephemeral answer's text ("" when the command opened a form)."""
        fields = {**slash_command(user, text), "response_url": self.standin.response_url(user)}
        reply = self.post(*form_request(fields))
        assert reply.status == 200, reply.text
        if not reply.body:
            return ""
        answer = json.loads(reply.body)
        assert answer.get("response_type") == "ephemeral"
        return str(answer["text"])

    def submit(self, view: dict[str, Any], values: dict[str, Any], user: str = ADMIN) -> Reply:
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": "T0TANDEM1"},
            "team": {"id": "T0TANDEM1"},
            "api_app_id": "A0TANDEM1",
            "trigger_id": "123.456.abc",
            "view": {**view, "id": "V0STANDIN1", "state": {"values": values}},
        }
        return self.post(*interaction_request(payload))

    def count(self, model: type, *where: Any) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    def opened_view(self) -> dict[str, Any]:
        view = self.standin.wait_for("views.open")[-1].body["view"]
        return json.loads(view) if isinstance(view, str) else view


@contextmanager
def admin_world(engine: Engine, standin: SlackStandin, now: datetime) -> Iterator[AdminWorld]:
    standin.users.extend(PEOPLE)
    factory = make_session_factory(engine)
    with serve_tandem(engine, standin, factory, lambda: now) as server:
        yield AdminWorld(engine, factory, standin, server, now)


def mention(index: int) -> str:
    user = PEOPLE[index]
    return f"<@{user['id']}|{user['name']}>"
