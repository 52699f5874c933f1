"""Pure: split a team into rotation groups and pick each group's questions for a round.

Why groups: docs/privacy-and-rotation.md. Every group has at least `min_group` members (the team's
anonymity threshold), everyone in a group gets the same questions, and different groups get different
drivers so the team covers the bank quickly. A member's group is stable from round to round (it
follows a hash of team and member), so a group's history is its members' history; groups only
reshuffle when the team grows or shrinks past a multiple of the threshold.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobs.question_bank import QuestionBank
from jobs.rotation import RotationSettings, pick_questions


@dataclass(frozen=True)
class RoundPlan:
    group_of: dict[int, int]  # member id -> group number
    questions: dict[int, list[str]]  # group number -> question keys, in the order they are asked


def split_into_groups(member_ids: Sequence[int], min_group: int, seed: str) -> dict[int, int]:
    """Groups of at least `min_group` members (one group when the team is smaller), sizes within one."""
    count = max(1, len(member_ids) // max(1, min_group))
    ordered = sorted(member_ids, key=lambda m: hashlib.sha256(f"{seed}:{m}".encode()).hexdigest())
    base, extra = divmod(len(ordered), count)
    group_of: dict[int, int] = {}
    start = 0
    for group in range(count):
        size = base + (1 if group < extra else 0)
        for member in ordered[start : start + size]:
            group_of[member] = group
        start += size
    return group_of


def plan_round(
    member_ids: Sequence[int],
    min_group: int,
    bank: QuestionBank,
    settings: RotationSettings,
    round_number: int,
    seed: str,
    group_history: Mapping[int, Sequence[Sequence[str]]],
) -> RoundPlan:
    """`group_history` maps a group number to the question keys it was asked in past rounds, oldest first."""
    group_of = split_into_groups(member_ids, min_group, seed)
    taken: Counter[str] = Counter()
    driver_of = {q.key: q.driver for q in bank.all_questions()}
    questions: dict[int, list[str]] = {}
    for group in sorted(set(group_of.values())):
        keys = pick_questions(group_history.get(group, ()), bank, settings, round_number, f"{seed}:{group}", taken)
        questions[group] = keys
        taken.update(keys)
        taken.update(driver_of[key] for key in keys)
    return RoundPlan(group_of, questions)
