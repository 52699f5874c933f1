"""Everything one server process needs, wired once from Settings: database, Slack client, apps, jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.digest_publisher import SlackDigestPublisher
from bot.event_inbox import EventInbox
from bot.http_app import WsgiApp, create_http_app
from bot.notifier import SlackNotifier
from bot.settings import Settings
from bot.slack_app import SlackApp, build_slack_app
from bot.slack_client import iter_user_pages, make_web_client
from bot.slack_membership import SlackMembershipClient
from jobs.digest_job import post_due_digests
from jobs.directory import sync_directory
from jobs.helpdesk.ingest import finish_received
from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.helpdesk.journal_sweep import recover_journal
from jobs.helpdesk.providers import PROVIDERS
from jobs.leader import SchedulerLeader
from jobs.periods import Daily
from jobs.pulse_dispatch import PulseDispatcher
from jobs.pulse_tick import PulseTick
from jobs.question_bank import QuestionBank, load_default_bank
from jobs.scheduler import RecurringJob, build_scheduler
from jobs.team_links import links_summary, recheck_channels, sync_linked_teams
from storage.db import SessionFactory, make_engine, make_session_factory, transaction
from storage.slack_events import SLACK_EVENT_RETENTION, forget_slack_events_before


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    engine: Engine
    factory: SessionFactory
    client: WebClient
    slack: SlackApp
    http_app: WsgiApp
    inbox: EventInbox
    webhooks: WebhookIngest
    leader: SchedulerLeader | None

    def stop(self) -> None:
        """At a worker's exit: run the Slack events already answered, store the events of the webhooks
        already answered, and hand the scheduler on."""
        self.inbox.drain()
        self.webhooks.stop()
        if self.leader is not None:
            self.leader.stop()


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    client = make_web_client(settings)
    bank = load_default_bank()
    slack = build_slack_app(settings, client, factory, clock=utc_now, bank=bank)
    inbox = EventInbox(engine, utc_now)
    webhooks = WebhookIngest(factory)
    http_app = create_http_app(
        signing_secret=settings.slack_signing_secret,
        slack=slack,
        factory=factory,
        engine=engine,
        clock=time.time,
        helpdesk_secrets=helpdesk_secrets(settings),
        inbox=inbox,
        webhook_ingest=webhooks,
    )
    leader = None
    if settings.scheduler != "off":
        jobs = recurring_jobs(client, factory)
        tick = [pulse_tick(settings, factory, bank), digest_tick(client, factory, bank), webhook_sweep(engine, factory)]
        leader = SchedulerLeader(engine, lambda: build_scheduler(jobs, factory, utc_now, every_tick=tick))
    return Runtime(engine, factory, client, slack, http_app, inbox, webhooks, leader)


def helpdesk_secrets(settings: Settings) -> dict[str, str]:
    """Each helpdesk's secret or token, by provider name, from its TANDEM_… setting (unset: refused)."""
    return {
        name: str(settings.helpdesk_secrets[provider.secret_env])
        for name, provider in PROVIDERS.items()
        if settings.helpdesk_secrets.get(provider.secret_env)
    }


def pulse_tick(settings: Settings, factory: SessionFactory, bank: QuestionBank) -> PulseTick:
    notifier = SlackNotifier(make_web_client(settings, retry_rate_limits=False))
    return PulseTick(factory, notifier, PulseDispatcher(factory, notifier, bank.agreement_labels, utc_now), bank)


def digest_tick(client: WebClient, factory: SessionFactory, bank: QuestionBank) -> Callable[[datetime], str]:
    """Every tick: post the weekly digests whose local time has come (claimed in the database)."""
    publisher = SlackDigestPublisher(client)

    def post_digests(now: datetime) -> str:
        return post_due_digests(factory, publisher, bank.driver_names, now).summary()

    return post_digests


# A delivery still received this long after it was kept was left by a process that stopped first.
UNFINISHED_WEBHOOK_AGE = timedelta(minutes=2)


def webhook_sweep(engine: Engine, factory: SessionFactory) -> Callable[[datetime], str]:
    """Every tick: write in the webhook deliveries a stopped process journaled but did not, and store the
    events of those a stopped process kept but did not finish."""

    def finish_webhooks(now: datetime) -> str:
        recovered = recover_journal(engine, PROVIDERS)
        stored, failing = finish_received(factory, PROVIDERS, now - UNFINISHED_WEBHOOK_AGE)
        return f"{recovered.summary()}; finished {stored} webhook deliveries, {failing} failing"

    return finish_webhooks


def recurring_jobs(client: WebClient, factory: SessionFactory) -> list[RecurringJob]:
    def sync_members(now: datetime) -> str:
        return sync_directory(iter_user_pages(client), factory, now).summary()

    def sync_team_links(now: datetime) -> str:
        slack = SlackMembershipClient(client)
        reports = sync_linked_teams(factory, slack, now)
        return f"{links_summary(reports)}; {recheck_channels(factory, slack, now).summary()}"

    def forget_old_event_ids(now: datetime) -> str:
        with transaction(factory) as session:
            return f"forgot {forget_slack_events_before(session, now - SLACK_EVENT_RETENTION)} event ids"

    return [
        RecurringJob("directory-sync", Daily(time_of_day(3, 0)), sync_members),
        RecurringJob("team-links-sync", Daily(time_of_day(3, 30)), sync_team_links),
        RecurringJob("forget-slack-event-ids", Daily(time_of_day(4, 0)), forget_old_event_ids),
    ]
