"""Fan-out: send every due pulse DM once, concurrently, riding out Slack's limits and failures.

Each chunk of due deliveries is claimed in the database (pending -> sending) before anything is sent,
so a second process or a retry never sends them again. A crash leaves claimed rows in `sending`; the
next run looks each one up in the member's DM history and either records it as sent or sends it,
so a resumed run sends only what is missing. One member's failure never stops the round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jobs.notifier import PulseNotifier, RateLimited, SendFailed, Undeliverable
from jobs.pacing import SendPacer
from jobs.pulse_rounds import team_schedule
from jobs.pulse_schedule import PulseSchedule, remind_at, still_in_window
from storage.db import SessionFactory, transaction
from storage.deliveries import (
    DueDelivery,
    SendOutcome,
    claim_deliveries,
    due_deliveries,
    postpone_deliveries,
    record_outcomes,
    set_status,
    stale_sends,
)
from storage.records import PulseView
from storage.rounds import asked_questions
from storage.teams import pulsed_teams

log = logging.getLogger(__name__)

CONCURRENCY = 8
CHUNK = 200
# A send claimed this long ago and still not recorded was interrupted (a chunk takes seconds).
STALE_AFTER = timedelta(minutes=10)
PASSING_FAILURE_RETRIES = 3
RATE_LIMIT_RETRIES = 30
BACKOFF_SECONDS = 0.5


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    undeliverable: int = 0
    opted_out: int = 0
    postponed: int = 0
    recovered: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("failed", "undeliverable", "opted_out", "postponed", "recovered"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name.replace('_', ' ')}")
        return ", ".join(parts)


class PulseDispatcher:
    def __init__(
        self,
        factory: SessionFactory,
        notifier: PulseNotifier,
        agreement_labels: tuple[str, ...],
        clock: Callable[[], datetime],
        concurrency: int = CONCURRENCY,
        chunk: int = CHUNK,
        pacer: SendPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._factory = factory
        self._notifier = notifier
        self._labels = agreement_labels
        self._clock = clock
        self._concurrency = concurrency
        self._chunk = chunk
        self._pacer = pacer or SendPacer()
        self._sleep = sleep

    def send_due(
        self, team_ids: Sequence[int] | None = None, round_ids: Sequence[int] | None = None, right_now: bool = False
    ) -> DispatchReport:
        """Send every due, unsent pulse; `right_now` sends every unsent one now, due or not, window or not."""
        report = DispatchReport()
        with transaction(self._factory) as session:
            schedules = {team.id: team_schedule(team) for team in pulsed_teams(session, team_ids)}
        views: dict[tuple[int, int], PulseView] = {}
        started = self._clock()
        self._recover(schedules, views, report)
        # Chunks overlap: the next one is claimed and queued before the last one's outcomes are written,
        # so the senders never wait for the database.
        in_flight: list[Future[SendOutcome]] = []
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="pulse-send") as pool:
            while True:
                now = self._clock()
                with transaction(self._factory) as session:
                    cutoff = None if right_now else now
                    due = due_deliveries(session, cutoff, self._chunk, list(schedules), round_ids, started)
                    sendable = self._sort_out(session, due, schedules, now, right_now, report)
                    claimed = set(claim_deliveries(session, [d.id for d in sendable], now))
                    batch = [d for d in sendable if d.id in claimed]
                    self._load_views(session, batch, views)
                queued = [pool.submit(self._send, d, views, schedules[d.team_id]) for d in batch]
                if in_flight:
                    outcomes = [future.result() for future in in_flight]
                    with transaction(self._factory) as session:
                        record_outcomes(session, outcomes)
                    self._count(outcomes, report)
                in_flight = queued
                if not due:
                    break
        return report

    def _sort_out(
        self,
        session: Session,
        due: list[DueDelivery],
        schedules: dict[int, PulseSchedule],
        now: datetime,
        right_now: bool,
        report: DispatchReport,
    ) -> list[DueDelivery]:
        """Drop members who opted out or left, postpone those whose window has passed, return the rest."""
        unreachable = [d.id for d in due if not d.reachable]
        report.opted_out += set_status(session, unreachable, "opted_out")
        later = []
        sendable = []
        for delivery in due:
            if not delivery.reachable:
                continue
            postponed_to = (
                None if right_now else still_in_window(schedules[delivery.team_id], delivery.due_at, delivery.tz, now)
            )
            if postponed_to is None:
                sendable.append(delivery)
            else:
                later.append((delivery.id, postponed_to))
        postpone_deliveries(session, later)
        report.postponed += len(later)
        return sendable

    def _load_views(self, session: Session, batch: list[DueDelivery], views: dict[tuple[int, int], PulseView]) -> None:
        """One query per round (not per group: a big team has thousands of groups)."""
        loaded = {round_id for round_id, _group in views}
        for delivery in batch:
            if delivery.round_id in loaded:
                continue
            loaded.add(delivery.round_id)
            for group, questions in asked_questions(session, delivery.round_id).items():
                views[(delivery.round_id, group)] = PulseView(
                    delivery.round_id, questions, {}, delivery.threshold, self._labels
                )

    def _send(
        self, delivery: DueDelivery, views: dict[tuple[int, int], PulseView], schedule: PulseSchedule
    ) -> SendOutcome:
        view = views[(delivery.round_id, delivery.group_no)]
        passing_failures = rate_limits = 0
        while True:
            self._pacer.wait_turn()
            try:
                posted = self._notifier.send_pulse(delivery.slack_user_id, view, delivery.id)
            except RateLimited as limited:
                rate_limits += 1
                self._pacer.rate_limited(limited.retry_after)
                if rate_limits > RATE_LIMIT_RETRIES:
                    return SendOutcome(delivery.id, "failed", error="still rate limited")
                continue
            except Undeliverable as error:
                return SendOutcome(delivery.id, "undeliverable", error=str(error))
            except SendFailed as error:
                if error.passing and passing_failures < PASSING_FAILURE_RETRIES:
                    self._sleep(BACKOFF_SECONDS * 2**passing_failures)
                    passing_failures += 1
                    continue
                return SendOutcome(delivery.id, "failed", error=str(error))
            except Exception as error:  # a bug must cost one DM, not the round
                log.exception("sending delivery %d failed", delivery.id)
                return SendOutcome(delivery.id, "failed", error=f"{error.__class__.__name__}: {error}")
            self._pacer.accepted()
            return self._sent(delivery, posted.channel, posted.ts, schedule)

    def _sent(self, delivery: DueDelivery, channel: str, ts: str, schedule: PulseSchedule) -> SendOutcome:
        sent = self._clock()
        reminder = remind_at(schedule, sent, delivery.tz, delivery.closes_at)
        return SendOutcome(delivery.id, "sent", channel, ts, sent, reminder)

    def _recover(
        self, schedules: dict[int, PulseSchedule], views: dict[tuple[int, int], PulseView], report: DispatchReport
    ) -> None:
        """Settle sends a crashed process left claimed: sent if the DM is there, otherwise sent again."""
        with transaction(self._factory) as session:
            stale = [(d, at) for d, at in stale_sends(session, self._clock() - STALE_AFTER) if d.team_id in schedules]
        outcomes = []
        retry = []
        for delivery, claimed_at in stale:
            try:
                found = self._notifier.find_pulse(
                    delivery.slack_user_id, delivery.id, claimed_at - timedelta(minutes=1)
                )
            except Exception as error:  # cannot tell: leave it for the next run rather than risk a duplicate
                log.warning("could not check delivery %d: %s", delivery.id, error)
                continue
            if found is None:
                retry.append(delivery.id)
            else:
                outcomes.append(self._sent(delivery, found.channel, found.ts, schedules[delivery.team_id]))
        with transaction(self._factory) as session:
            record_outcomes(session, outcomes)
            set_status(session, retry, "failed", only_from=("sending",))
        report.recovered += len(outcomes) + len(retry)

    @staticmethod
    def _count(outcomes: list[SendOutcome], report: DispatchReport) -> None:
        for outcome in outcomes:
            if outcome.status == "sent":
                report.sent += 1
            elif outcome.status == "undeliverable":
                report.undeliverable += 1
            else:
                report.failed += 1
                key = (outcome.error or "unknown").split(":")[0]
                report.errors[key] = report.errors.get(key, 0) + 1
