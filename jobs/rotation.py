"""Pure: which questions a rotation unit (a group of a team, see docs/privacy-and-rotation.md) gets next.

Rules, in order of strength:
1. Every driver is covered before any driver repeats for the unit.
2. No question is asked again within `no_repeat_rounds` rounds (when the driver has a question left).
3. Drivers and questions that other units of the same team already got this round come last, so the
   team covers the bank quickly.
4. Ties are broken by a hash of (seed, round, key): the same inputs always give the same questions.
eNPS is asked on top of the driver questions, in every `enps_every`-th round.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from jobs.question_bank import QuestionBank


@dataclass(frozen=True)
class RotationSettings:
    questions_per_pulse: int = 3
    no_repeat_rounds: int = 4
    enps_every: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.questions_per_pulse <= 5:
            raise ValueError("questions per pulse must be between 1 and 5")
        if self.no_repeat_rounds < 0 or self.enps_every < 1:
            raise ValueError("no_repeat_rounds must be 0 or more and enps_every 1 or more")


def pick_questions(
    history: Sequence[Sequence[str]],
    bank: QuestionBank,
    settings: RotationSettings,
    round_number: int,
    seed: str,
    taken_this_round: Mapping[str, int] | None = None,
) -> list[str]:
    """Question keys for the unit's next round.

    `history` lists the unit's past rounds, oldest first, each with the question keys it was asked.
    `taken_this_round` counts, per driver and per question key, how often other units of the team
    were already given it this round.
    """
    return pick_for_members([history], bank, settings, round_number, seed, taken_this_round)


def pick_for_members(
    histories: Sequence[Sequence[Sequence[str]]],
    bank: QuestionBank,
    settings: RotationSettings,
    round_number: int,
    seed: str,
    taken_this_round: Mapping[str, int] | None = None,
) -> list[str]:
    """`pick_questions` for a unit whose members may come with different histories (one per member).

    That happens when a team's groups reshuffle (it grew or shrank past a multiple of k) and people who
    were asked different questions share a group. Everyone in it gets the same questions, so the rules
    hold as far as they can: drivers missing from the current cycle of the most members come first, and
    a question counts as recent when any member had it recently. With one shared history (the usual case)
    this is exactly rules 1-4.
    """
    taken = taken_this_round or {}
    driver_of = {q.key: q.driver for q in bank.questions}

    def tiebreak(key: str) -> str:
        return hashlib.sha256(f"{seed}:{round_number}:{key}".encode()).hexdigest()

    histories = histories or [[]]
    drivers = _next_drivers(histories, bank.drivers, driver_of, settings.questions_per_pulse, taken, tiebreak)
    # Rounds since each key was last asked of anyone in the unit (1 = the round before this one).
    rounds_ago: dict[str, int] = {}
    for history in histories:
        for index, asked in enumerate(history):
            for key in asked:
                rounds_ago[key] = min(rounds_ago.get(key, len(history) - index), len(history) - index)
    longest = max(len(history) for history in histories)
    picks = []
    for driver in drivers:
        candidates = bank.by_driver(driver)

        def order(key: str) -> tuple[bool, int, int, str]:
            ago = rounds_ago.get(key)
            too_recent = ago is not None and ago <= settings.no_repeat_rounds
            staleness = -(ago if ago is not None else longest + 1)
            return (too_recent, staleness, taken.get(key, 0), tiebreak(key))

        picks.append(min((q.key for q in candidates), key=order))
    if round_number % settings.enps_every == 0:
        picks.append(bank.enps.key)
    return picks


def _next_drivers(
    histories: Sequence[Sequence[Sequence[str]]],
    all_drivers: Sequence[str],
    driver_of: Mapping[str, str],
    count: int,
    taken: Mapping[str, int],
    tiebreak: Callable[[str], str],
) -> list[str]:
    """The next `count` drivers: first those the most members' current cycles still lack, then a new cycle."""
    lacking = Counter({driver: 0 for driver in all_drivers})
    for history in histories:
        lacking.update(set(all_drivers) - _current_cycle(history, set(all_drivers), driver_of))

    def preference(driver: str) -> tuple[int, int, str]:
        return (-lacking[driver], taken.get(driver, 0), tiebreak(driver))

    return sorted(all_drivers, key=preference)[:count]


def _current_cycle(history: Sequence[Sequence[str]], everything: set[str], driver_of: Mapping[str, str]) -> set[str]:
    """The drivers covered so far in the history's current cycle (a full cycle starts a new one)."""
    covered: set[str] = set()
    for asked in history:
        for key in asked:
            driver = driver_of.get(key)
            if driver is None:  # eNPS, or a question since retired from the bank
                continue
            if covered == everything:
                covered = set()
            covered.add(driver)
    return set() if covered == everything else covered
