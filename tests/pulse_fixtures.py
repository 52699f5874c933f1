"""Shared set-up for pulse tests: a team of synced members in a migrated database, and Tandem's notifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from bot.http_app import create_http_app
from bot.notifier import SlackNotifier
from bot.settings import Secret, Settings
from bot.slack_app import Clock, build_slack_app
from bot.slack_client import make_web_client
from jobs import pulse_answers
from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.members import member_from_slack
from jobs.pulse_dispatch import PulseDispatcher
from jobs.pulse_followup import close_due_rounds
from jobs.pulse_rounds import open_due_rounds
from jobs.question_bank import load_default_bank
from storage.db import SessionFactory, make_session_factory, transaction
from storage.members import upsert_members
from storage.models import Delivery, Member
from storage.rounds import asked_questions
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
    webhook_ingest: WebhookIngest | None = None,
) -> Iterator[LiveServer]:
    """Tandem's real HTTP app and bolt app on a socket, talking to the stand-in: what Slack (and the
    helpdesks, with `helpdesk_secrets` by provider name) would reach. `webhook_ingest`: the caller's, to
    wait on for what it writes after its answers (stopped here afterwards, as a worker's exit does)."""
    settings = Settings(
        slack_bot_token=Secret(BOT_TOKEN), slack_signing_secret=Secret(SIGNING_SECRET), slack_api_url=standin.base_url
    )
    slack = build_slack_app(settings, make_web_client(settings), factory, clock=clock, bank=BANK)
    http = create_http_app(
        signing_secret=SIGNING_SECRET,
        slack=slack,
        factory=factory,
        engine=engine,
        helpdesk_secrets=helpdesk_secrets,
        webhook_ingest=webhook_ingest,
    )
    try:
        with LiveServer(http) as server:
            yield server
    finally:
        if webhook_ingest is not None:
            webhook_ingest.stop()


def run_round(world: PulseWorld, team_id: int, answers: dict[str, int | None] | None = None, close: bool = True) -> int:
    """Open and send a round of the team; each user in `answers` answers every question with that value
    (None: skips them all). Closing moves the world's clock on a week, ready for the next round."""
    (opened,) = open_due_rounds(world.factory, BANK, world.now, [team_id], right_now=True)
    world.dispatcher().send_due([team_id], right_now=True)
    for user, value in (answers or {}).items():
        answer_everything(world, opened.round_id, user, value)
    if close:
        close_due_rounds(world.factory, world.notifier, world.now + timedelta(days=6))
        world.now += timedelta(days=7)
    return opened.round_id


def answer_everything(world: PulseWorld, round_id: int, user: str, value: int | None) -> None:
    with world.factory() as session:
        group = session.scalar(
            select(Delivery.group_no)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.round_id == round_id, Member.slack_user_id == user)
        )
        questions = asked_questions(session, round_id, group)[group]
    for question in questions:
        chosen = None if value is None else value * 2 if question.scale == "enps" else value
        button: dict[str, Any] = {"r": round_id, "q": question.question_id}
        if chosen is not None:
            button["v"] = chosen
        result = pulse_answers.answer(world.factory, BANK.agreement_labels, user, json.dumps(button), chosen, world.now)
        assert isinstance(result, pulse_answers.Recorded)
