"""Pure: the default question bank, shipped as data in the package (jobs/question_bank.json).

Questions are keyed by a stable `key`; the wording is versioned in storage, so rewording a question
creates a new version while history keeps the old one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from storage.records import Question

ENPS_DRIVER = "enps"
MIN_QUESTIONS_PER_DRIVER = 3


@dataclass(frozen=True)
class QuestionBank:
    drivers: tuple[str, ...]
    driver_names: dict[str, str]
    questions: tuple[Question, ...]
    enps: Question
    agreement_labels: tuple[str, ...]
    enps_labels: tuple[str, str]

    def by_driver(self, driver: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.driver == driver)

    def all_questions(self) -> tuple[Question, ...]:
        """Every driver question and eNPS."""
        return (*self.questions, self.enps)


def load_default_bank() -> QuestionBank:
    data = json.loads(resources.files("jobs").joinpath("question_bank.json").read_text(encoding="utf-8"))
    return parse_bank(data)


def parse_bank(data: dict[str, Any]) -> QuestionBank:
    """Build and check a bank: unique keys, at least three questions per driver, a five-point scale."""
    labels = tuple(data["scale"]["agreement"])
    if len(labels) != 5:
        raise ValueError("the agreement scale needs exactly five labels")
    questions: list[Question] = []
    names: dict[str, str] = {}
    for driver in data["drivers"]:
        names[driver["key"]] = driver["name"]
        own = [Question(q["key"], driver["key"], q["text"], "agreement") for q in driver["questions"]]
        if len(own) < MIN_QUESTIONS_PER_DRIVER:
            raise ValueError(f"driver {driver['key']} has {len(own)} questions; it needs at least 3")
        questions.extend(own)
    enps = Question(data["enps"]["key"], ENPS_DRIVER, data["enps"]["text"], "enps")
    keys = [q.key for q in questions] + [enps.key]
    if len(keys) != len(set(keys)):
        raise ValueError("question keys must be unique")
    return QuestionBank(
        drivers=tuple(names),
        driver_names=names,
        questions=tuple(questions),
        enps=enps,
        agreement_labels=labels,
        enps_labels=(data["scale"]["enps"]["low"], data["scale"]["enps"]["high"]),
    )


def with_questions(bank: QuestionBank, questions: Sequence[Question]) -> QuestionBank:
    """The bank as admins have shaped it: `questions` (the live, unretired ones) replace the shipped ones.

    A driver without questions left drops out of rotation; eNPS stays as shipped unless reworded.
    """
    drivers = tuple(d for d in bank.drivers if any(q.driver == d for q in questions))
    enps = next((q for q in questions if q.driver == ENPS_DRIVER), bank.enps)
    return QuestionBank(
        drivers=drivers,
        driver_names=bank.driver_names,
        questions=tuple(q for q in questions if q.driver in drivers),
        enps=enps,
        agreement_labels=bank.agreement_labels,
        enps_labels=bank.enps_labels,
    )
