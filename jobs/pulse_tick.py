"""Everything the pulse needs each minute, in order: open due rounds, send, remind, close."""

from __future__ import annotations

import logging
from datetime import datetime

from jobs.notifier import PulseNotifier
from jobs.pulse_dispatch import PulseDispatcher
from jobs.pulse_followup import close_due_rounds, send_reminders
from jobs.pulse_rounds import open_due_rounds
from jobs.question_bank import QuestionBank
from storage.db import SessionFactory

log = logging.getLogger(__name__)


class PulseTick:
    def __init__(
        self, factory: SessionFactory, notifier: PulseNotifier, dispatcher: PulseDispatcher, bank: QuestionBank
    ) -> None:
        self._factory = factory
        self._notifier = notifier
        self._dispatcher = dispatcher
        self._bank = bank

    def __call__(self, now: datetime) -> str:
        opened = open_due_rounds(self._factory, self._bank, now)
        report = self._dispatcher.send_due()
        reminded = send_reminders(self._factory, self._notifier, now)
        closed = close_due_rounds(self._factory, self._notifier, now)
        outcome = f"{len(opened)} opened, {report.summary()}, {reminded} reminded, {closed} closed"
        if opened or report.sent or report.failed or reminded or closed:
            log.info("pulse tick: %s", outcome)
        return outcome
