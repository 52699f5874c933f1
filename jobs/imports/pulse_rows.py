"""Pure: pulse history from another tool -> closed rounds that keep Tandem's privacy promise.

Every (team, date) becomes one round. Who answered is known only as a keyed hash, in memory, to count
distinct people: the key is random per import and thrown away, so the hashes cannot be matched to
anyone, and only the count is stored. What could never be shown is left out, as when a round closes:
a question answered by fewer than k people, and a round with fewer than k people.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from jobs.imports.csv_rows import Header, RowError, check_width, read_header

PULSE_COLUMNS = ("team", "date", "question", "value", "respondent")
SCALES = {"agreement": range(1, 6), "enps": range(0, 11)}


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str
    threshold: int  # k: the team's current anonymity threshold


@dataclass(frozen=True)
class QuestionRef:
    id: int  # the stored question version answers point at
    key: str
    driver: str
    scale: str  # "agreement" or "enps"


@dataclass(frozen=True)
class PulseAnswer:
    team: TeamRef
    day: date
    question: QuestionRef
    value: int
    respondent: bytes  # keyed hash of the identifier, never the identifier


@dataclass
class RoundDraft:
    """One (team, date) as read so far: question id -> respondent hash -> (value, line)."""

    team: TeamRef
    day: date
    answers: dict[int, dict[bytes, tuple[int, int]]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)  # question id -> key, for reports

    @property
    def respondents(self) -> int:
        return len({person for by_person in self.answers.values() for person in by_person})


@dataclass(frozen=True)
class SettledRound:
    """What of a draft may be stored: nothing (`skipped` says why) or the answers of questions with k people."""

    respondents: int
    answers: tuple[tuple[int, int], ...]  # (question id, value)
    dropped_answers: int
    dropped_questions: tuple[str, ...]  # keys of questions fewer than k people answered
    skipped: str = ""


def pulse_header(cells: Sequence[str] | None) -> Header:
    return read_header(cells, PULSE_COLUMNS, PULSE_COLUMNS)


def question_index(questions: Sequence[QuestionRef]) -> dict[str, QuestionRef]:
    """Question keys, and driver keys meaning the driver's first question (`questions` in the order of
    preference: the shipped bank's order). A question key wins over a driver of the same name."""
    index: dict[str, QuestionRef] = {}
    for question in questions:
        index.setdefault(question.driver, question)
    for question in questions:
        index[question.key] = question
    return index


def respondent_hash(key: bytes, respondent: str) -> bytes:
    """Case-folded first: "Ann@x.io" and "ann@x.io" count as one person. Counting two people as one can
    only hide a result; counting one person twice could show a result of fewer than k people."""
    return hmac.new(key, respondent.casefold().encode(), hashlib.sha256).digest()[:16]


def parse_pulse_row(
    header: Header,
    cells: Sequence[str],
    teams: Mapping[str, TeamRef],
    questions: Mapping[str, QuestionRef],
    today: date,
    respondent_key: bytes,
) -> PulseAnswer:
    """One answer, or RowError. `teams` is keyed by lower-case name. Messages never repeat the respondent."""
    check_width(header, cells)
    team_name, day_text, question_text, value_text, respondent = header.values(cells)
    team = teams.get(team_name.lower())
    if team is None:
        raise RowError(
            f"there is no team named {team_name!r} (/pulse teams lists them)" if team_name else "team is empty"
        )
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise RowError(f"date {day_text!r} is not a date (use YYYY-MM-DD)") from None
    if day >= today:
        raise RowError(f"date {day_text} is not in the past: imported rounds are history")
    question = questions.get(question_text) or questions.get(question_text.lower())
    if question is None:
        raise RowError(f"question {question_text!r} is neither a question key nor a driver (/pulse questions)")
    try:
        value = int(value_text)
    except ValueError:
        raise RowError(f"value {value_text!r} is not a whole number") from None
    scale = SCALES[question.scale]
    if value not in scale:
        raise RowError(f"value {value} is outside {scale.start}-{scale.stop - 1} for {question.key}")
    if not respondent:
        raise RowError("respondent is empty")
    return PulseAnswer(team, day, question, value, respondent_hash(respondent_key, respondent))


class RoundGrouper:
    """Collects answers per (team, date). A person answering the same question twice in one round is an
    error on the later line: which of the two is right cannot be known."""

    def __init__(self) -> None:
        self._drafts: dict[tuple[int, date], RoundDraft] = {}

    def add(self, line: int, answer: PulseAnswer) -> None:
        draft = self._drafts.get((answer.team.id, answer.day))
        if draft is None:
            draft = self._drafts[(answer.team.id, answer.day)] = RoundDraft(answer.team, answer.day)
        by_person = draft.answers.setdefault(answer.question.id, {})
        earlier = by_person.get(answer.respondent)
        if earlier is not None:
            raise RowError(
                f"this respondent already answered {answer.question.key} for that team and date (line {earlier[1]})"
            )
        by_person[answer.respondent] = (answer.value, line)
        draft.keys[answer.question.id] = answer.question.key

    def drafts(self) -> Iterator[RoundDraft]:
        """By team name, then date: the team's imported rounds are numbered in date order."""
        yield from sorted(self._drafts.values(), key=lambda d: (d.team.name.lower(), d.day))


def settle_round(draft: RoundDraft, k: int) -> SettledRound:
    """Apply the privacy model to one draft: the rules storage.pulses.close_round applies to a live round."""
    respondents = draft.respondents
    if respondents < k:
        return SettledRound(respondents, (), 0, (), skipped=f"only {respondents} people answered, fewer than {k}")
    kept: list[tuple[int, int]] = []
    dropped: list[str] = []
    dropped_answers = 0
    for question_id, by_person in draft.answers.items():
        if len(by_person) >= k:
            kept.extend((question_id, value) for value, _line in by_person.values())
        else:
            dropped.append(draft.keys[question_id])
            dropped_answers += len(by_person)
    if not kept:
        return SettledRound(
            respondents,
            (),
            dropped_answers,
            tuple(sorted(dropped)),
            skipped=f"no question was answered by at least {k} people",
        )
    return SettledRound(respondents, tuple(kept), dropped_answers, tuple(sorted(dropped)))
