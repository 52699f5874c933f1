"""Pure: split a team into rotation groups and pick each group's questions for a round.

Why groups: docs/privacy-and-rotation.md. Every group has at least `min_group` members (the team's
anonymity threshold), everyone in a group gets the same questions, and different groups get different
drivers so the team covers the bank quickly. A member's group is stable from round to round (it
follows a hash of team and member), so a group's history is its members' history; groups only
reshuffle when the team grows or shrinks past a multiple of the threshold. So rotation plans from the
members' own histories (what each was asked, through whichever groups they were in), not a group number's:
after a reshuffle, a group mixes people who were asked different things (jobs.rotation.pick_for_members).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobs.question_bank import QuestionBank
from jobs.rotation import RotationSettings, pick_for_members


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
    member_history: Mapping[int, Sequence[Sequence[str]]],
) -> RoundPlan:
    """`member_history` maps a member id to the question keys they were asked in past rounds of the team,
    oldest first (a member without one is new to it)."""
    group_of = split_into_groups(member_ids, min_group, seed)
    members_of: dict[int, list[int]] = {}
    for member, group in group_of.items():
        members_of.setdefault(group, []).append(member)
    taken: Counter[str] = Counter()
    driver_of = {q.key: q.driver for q in bank.all_questions()}
    questions: dict[int, list[str]] = {}
    for group in sorted(members_of):
        histories = [member_history.get(member, ()) for member in sorted(members_of[group])]
        keys = pick_for_members(histories, bank, settings, round_number, f"{seed}:{group}", taken)
        questions[group] = keys
        taken.update(keys)
        taken.update(driver_of[key] for key in keys)
    return RoundPlan(group_of, questions)
