"""Shared set-up for pulse tests: a team of synced members in a migrated database, and Tandem's notifier."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from bot.http_app import create_http_app
from bot.notifier import SlackNotifier
from bot.settings import Secret, Settings
from bot.slack_app import Clock, build_bolt_app
from bot.slack_client import make_web_client
from jobs.members import member_from_slack
from jobs.pulse_dispatch import PulseDispatcher
from jobs.question_bank import load_default_bank
from storage.db import SessionFactory, make_session_factory, transaction
from storage.members import upsert_members
from storage.models import Member
from storage.teams import add_team_members, create_team
from tests.live_server import LiveServer
from tests.slack_signing import SIGNING_SECRET
from tests.slack_standin import BOT_TOKEN, SlackStandin, make_user

BANK = load_default_bank()


@dataclass
class PulseWorld:
    engine: Engine
    factory: SessionFactory
    standin: SlackStandin
    notifier: SlackNotifier
    now: datetime

    def clock(self) -> datetime:
        return self.now

    def dispatcher(self, **kwargs: Any) -> PulseDispatcher:
        kwargs.setdefault("sleep", lambda _seconds: None)
        return PulseDispatcher(self.factory, self.notifier, BANK.agreement_labels, self.clock, **kwargs)

    def add_team(self, name: str, first_user: int, size: int, **settings: Any) -> int:
        users = [make_user(i, tz="Europe/London") for i in range(first_user, first_user + size)]
        with transaction(self.factory) as session:
            upsert_members(session, [member_from_slack(u) for u in users], self.now)
            team = create_team(session, name, self.now, **settings)
            ids = session.scalars(select(Member.id).where(Member.slack_user_id.in_([u["id"] for u in users])))
            add_team_members(session, team.id, list(ids))
            return team.id


def make_world(engine: Engine, standin: SlackStandin, now: datetime) -> PulseWorld:
    settings = Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url)
    notifier = SlackNotifier(make_web_client(settings, retry_rate_limits=False))
    return PulseWorld(engine, make_session_factory(engine), standin, notifier, now)


@contextmanager
def serve_tandem(
    engine: Engine,
    standin: SlackStandin,
    factory: SessionFactory,
    clock: Clock,
    helpdesk_secrets: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Tandem's real HTTP app and bolt app on a socket, talking to the stand-in: what Slack (and the
    helpdesks, with `helpdesk_secrets` by provider name) would reach."""
    settings = Settings(
        slack_bot_token=Secret(BOT_TOKEN), slack_signing_secret=Secret(SIGNING_SECRET), slack_api_url=standin.base_url
    )
    bolt_app = build_bolt_app(settings, make_web_client(settings), factory, clock=clock, bank=BANK)
    http = create_http_app(
        signing_secret=SIGNING_SECRET,
        bolt_app=bolt_app,
        factory=factory,
        engine=engine,
        helpdesk_secrets=helpdesk_secrets,
    )
    with LiveServer(http) as server:
        yield server
