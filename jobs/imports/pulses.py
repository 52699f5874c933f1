"""Use case: `tandem import pulses FILE.csv`: pulse history from another tool -> closed, imported rounds.

A round can only be judged (k people? k per question?) once all its rows are read, and an export is not
necessarily sorted by team and date, so the whole file is grouped in memory before anything is written.
Pulse histories are small (a 100-person company with two years of weekly pulses is ~100,000 rows, some
20 MB here); what is held per answer is a 16-byte hash, never the respondent's identifier.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.imports.csv_file import READ_ERRORS, Progress, open_csv, stop_reason
from jobs.imports.csv_rows import ErrorLog, RowError
from jobs.imports.pulse_rows import (
    QuestionRef,
    RoundDraft,
    RoundGrouper,
    TeamRef,
    parse_pulse_row,
    pulse_header,
    question_index,
    settle_round,
)
from jobs.question_bank import QuestionBank
from storage.db import SessionFactory, transaction
from storage.imports import insert_answers, insert_imported_round, rounds_on
from storage.models import Team
from storage.questions import current_versions, seed_questions

PROGRESS_EVERY_ROWS = 5_000
# Rounds written per transaction: one commit each would be most of the time on SQLite.
ROUNDS_PER_TRANSACTION = 50


@dataclass(frozen=True)
class RoundOutcome:
    team: str
    day: str  # YYYY-MM-DD
    status: str  # imported, already there, skipped
    detail: str = ""  # the round number and counts, or why it was skipped
    answers: int = 0  # stored
    dropped: int = 0  # left out: their question had fewer than k people in the round

    def line(self) -> str:
        return f"team {self.team}, {self.day}: {self.status}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class PulseImport:
    rows: int = 0
    errors: ErrorLog = field(default_factory=ErrorLog)
    ignored_columns: tuple[str, ...] = ()
    stopped: str = ""
    rounds: list[RoundOutcome] = field(default_factory=list)  # those written (committed), in order

    @property
    def answers(self) -> int:
        return sum(outcome.answers for outcome in self.rounds)

    @property
    def dropped(self) -> int:
        return sum(outcome.dropped for outcome in self.rounds)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.rounds)

    def summary(self) -> str:
        return (
            f"pulses: {self.rows} rows read, {self.count('imported')} rounds imported with {self.answers} answers "
            f"({self.dropped} left out: question below k), {self.count('already there')} already there, "
            f"{self.count('skipped')} skipped (below k), {self.errors.count} rows with errors"
        )


def import_pulses(
    factory: SessionFactory, path: Path, bank: QuestionBank, now: datetime, progress: Progress | None = None
) -> PulseImport:
    """Import pulse history. HeaderError (nothing imported) when the first line is not usable."""
    report = PulseImport()
    with open_csv(path) as source:
        header = pulse_header(source.header)
        report.ignored_columns = header.ignored
        teams, questions = _directory(factory, bank, now)
        # A new key each run, never stored or shown: once this function returns, nobody can tell which
        # hash was whose, not even with the file in hand.
        respondent_key = secrets.token_bytes(32)
        grouper = RoundGrouper()
        try:
            for line, cells in source:
                report.rows += 1
                try:
                    grouper.add(line, parse_pulse_row(header, cells, teams, questions, now.date(), respondent_key))
                except RowError as error:
                    report.errors.add(line, str(error))
                if progress is not None and report.rows % PROGRESS_EVERY_ROWS == 0:
                    progress("rows", report.rows, source.fraction())
        except READ_ERRORS as error:
            report.stopped = stop_reason(source, error)
        del respondent_key
    drafts = list(grouper.drafts())
    for start in range(0, len(drafts), ROUNDS_PER_TRANSACTION):
        chunk = drafts[start : start + ROUNDS_PER_TRANSACTION]
        with transaction(factory) as session:
            existing = rounds_on(session, [(draft.team.id, draft.day) for draft in chunk])
            outcomes = [_write_round(session, draft, (draft.team.id, draft.day) in existing) for draft in chunk]
        report.rounds += outcomes
        if progress is not None:
            progress("rounds", len(report.rounds), len(report.rounds) / len(drafts))
    return report


def _directory(
    factory: SessionFactory, bank: QuestionBank, now: datetime
) -> tuple[dict[str, TeamRef], dict[str, QuestionRef]]:
    """Teams by lower-case name, and questions by key and driver (the shipped bank seeded first)."""
    with transaction(factory) as session:
        seed_questions(session, bank.all_questions(), now)
        teams = {
            name.lower(): TeamRef(team_id, name, k)
            for team_id, name, k in session.execute(select(Team.id, Team.name, Team.anonymity_threshold))
        }
        versions = current_versions(session)
    shipped = {question.key: at for at, question in enumerate(bank.all_questions())}
    # The shipped order first (a driver key means its first shipped question), then custom ones as created.
    ordered = sorted(versions.values(), key=lambda v: (shipped.get(v.key, len(shipped)), v.id))
    return teams, question_index([QuestionRef(v.id, v.key, v.driver, v.scale) for v in ordered])


def _write_round(session: Session, draft: RoundDraft, exists: bool) -> RoundOutcome:
    team, day, k = draft.team.name, draft.day.isoformat(), draft.team.threshold
    if exists:
        return RoundOutcome(team, day, "already there")
    settled = settle_round(draft, k)
    if settled.skipped:
        return RoundOutcome(team, day, "skipped", settled.skipped)
    # Closed at the end of its day: results are history, never an open round anyone could answer.
    closed_at = datetime.combine(draft.day + timedelta(days=1), time(), UTC)
    pulse = insert_imported_round(session, draft.team.id, draft.day, closed_at, k, settled.respondents)
    if pulse is None:
        return RoundOutcome(team, day, "already there")
    insert_answers(session, pulse.id, settled.answers)
    detail = f"round {pulse.number}, {settled.respondents} people, {len(settled.answers)} answers"
    if settled.dropped_questions:
        detail += f"; left out, fewer than {k} answered: {', '.join(settled.dropped_questions)}"
    return RoundOutcome(team, day, "imported", detail, len(settled.answers), settled.dropped_answers)
