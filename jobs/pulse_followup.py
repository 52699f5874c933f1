"""After the send: one reminder per unanswered pulse, and closing rounds whose time is up."""

from __future__ import annotations

import logging
from datetime import datetime

from jobs.notifier import PulseNotifier
from storage.db import SessionFactory, transaction
from storage.deliveries import claim_reminders, close_deliveries
from storage.pulses import close_round, rounds_due_to_close

log = logging.getLogger(__name__)


def send_reminders(factory: SessionFactory, notifier: PulseNotifier, now: datetime) -> int:
    """Remind each member whose reminder time came and who has not answered; claimed first, so at most once."""
    sent = 0
    while True:
        with transaction(factory) as session:
            reminders = claim_reminders(session, now)
        if not reminders:
            return sent
        for reminder in reminders:
            try:
                notifier.remind(reminder.channel_id, reminder.message_ts, reminder.closes_at, reminder.tz)
                sent += 1
            except Exception as error:  # a reminder is a courtesy: never retried, never worth stopping for
                log.warning("reminder for delivery %d failed: %s", reminder.delivery_id, error)


def close_due_rounds(factory: SessionFactory, notifier: PulseNotifier, now: datetime) -> int:
    """Close every round past its closing time: erase the links (storage.pulses.close_round), then
    turn each DM into its closed state. Returns the number of rounds closed."""
    with transaction(factory) as session:
        due = rounds_due_to_close(session, now)
    closed = 0
    for round_id in due:
        with transaction(factory) as session:
            report = close_round(session, round_id, now)
            if report is None:
                continue  # another process closed it
            messages = close_deliveries(session, round_id)
        closed += 1
        log.info("closed round %d: %s", round_id, report)
        for message in messages:
            try:
                notifier.show_closed(message.channel_id, message.message_ts, message.took_part, report.threshold)
            except Exception as error:
                log.warning("could not update a closed pulse DM in round %d: %s", round_id, error)
    return closed
