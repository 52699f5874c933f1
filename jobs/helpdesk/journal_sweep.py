"""Use case: write into the database the webhook deliveries a process journaled but did not (it was killed,
or the database was down): every scheduler tick, and before `tandem webhooks replay`.

Each orphaned segment (storage/webhook_journal.py) is read whole, its deliveries kept and their events
stored a batch at a time, as the process would have; a delivery already in the database (the process
wrote it before it stopped) is a duplicate and changes nothing. The segment is deleted once all are in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from jobs.helpdesk.ingest import Delivery, keep, prepare, store_outcomes
from jobs.helpdesk.providers import Provider
from jobs.helpdesk.values import content_hash
from storage.db import sqlite_file, write_connection
from storage.helpdesk_events import delivery_row
from storage.webhook_journal import JournalRecord, journal_directory, orphan, segments

log = logging.getLogger(__name__)

BATCH = 256


@dataclass
class Recovered:
    segments: int = 0
    new: int = 0  # deliveries not in the database before
    known: int = 0  # deliveries the database had already
    left: int = 0  # segments left for the next sweep: the database did not take them

    def summary(self) -> str:
        segments = f"{self.segments} journal segment{'s' if self.segments != 1 else ''}"
        left = f"; {self.left} left for the next sweep" if self.left else ""
        return f"recovered {self.new} webhook deliveries from {segments} ({self.known} were stored before){left}"


def recover_journal(engine: Engine, providers: Mapping[str, Provider]) -> Recovered:
    """Write every orphaned segment's deliveries into the database (a SQLite file's: only there is there a
    journal), then delete the segment. One the database does not take (it is down, or refuses a raw
    delivery) stays for next time."""
    recovered = Recovered()
    database = sqlite_file(engine)
    for path in segments(journal_directory(database)) if database else []:
        with orphan(path) as records:
            if records is None:  # a live process holds it
                continue
            try:
                deliveries = [_delivery(record, providers) for record in records]
                for start in range(0, len(deliveries), BATCH):
                    new = _write(engine, deliveries[start : start + BATCH])
                    recovered.new += new
                    recovered.known += min(BATCH, len(deliveries) - start) - new
            except Exception as error:
                # The database is down, or refuses a raw delivery: this segment stays for the next sweep,
                # and the others (and the rest of the scheduler's tick) go on.
                log.warning("could not recover the webhook journal segment %s (%s)", path.name, type(error).__name__)
                recovered.left += 1
                continue
            path.unlink(missing_ok=True)
            recovered.segments += 1
    if recovered.segments or recovered.left:
        log.info(recovered.summary())
    return recovered


def _write(engine: Engine, deliveries: Sequence[Delivery]) -> int:
    """Keep deliveries and store their events; how many were new. Raises when the database is down."""
    try:
        with write_connection(engine) as connection:
            kept = keep(connection, deliveries, with_events=True)
            store_outcomes(connection, [outcomes for _, outcomes in kept if outcomes is not None])
        return sum(answer.duplicate is False for answer, _ in kept)
    except Exception:
        if len(deliveries) == 1:
            raise
    # The database refused something in the batch: each delivery kept first, in a transaction of its own.
    # Events it refuses then leave their delivery received, for finish_received to mark failed with why.
    new = 0
    for delivery in deliveries:
        with write_connection(engine) as connection:
            [(answer, outcomes)] = keep(connection, [delivery])
        new += answer.duplicate is False
        if outcomes is not None:
            try:
                with write_connection(engine) as connection:
                    store_outcomes(connection, [outcomes])
            except Exception as error:
                log.warning("a recovered webhook's events were refused (%s): left to the sweep", type(error).__name__)
    return new


def _delivery(record: JournalRecord, providers: Mapping[str, Provider]) -> Delivery:
    """A journaled delivery read again, as it was when journaled (the kept headers hold its Date)."""
    provider = providers.get(record.provider)
    if provider is not None:
        return prepare(provider, record.body, json.loads(record.headers), record.received_at)
    problem = f"no helpdesk {record.provider!r}"  # journaled by a version of Tandem that had one
    row = delivery_row(
        record.provider,
        content_hash(record.body),
        record.received_at,
        record.headers,
        record.body,
        "failed",
        problem,
        0,
    )
    return Delivery(record.provider, row["delivery_key"], row, None, problem)
