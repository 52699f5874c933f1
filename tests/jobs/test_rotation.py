from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.question_bank import load_default_bank
from jobs.rotation import RotationSettings, pick_questions

BANK = load_default_bank()
DRIVER_OF = {q.key: q.driver for q in BANK.questions}


def simulate(rounds: int, config: RotationSettings, seed: str) -> list[list[str]]:
    history: list[list[str]] = []
    for number in range(1, rounds + 1):
        history.append(pick_questions(history, BANK, config, number, seed))
    return history


configs = st.builds(
    RotationSettings,
    questions_per_pulse=st.integers(1, 5),
    no_repeat_rounds=st.integers(0, 6),
    enps_every=st.integers(1, 6),
)


@given(config=configs, seed=st.text(max_size=8), rounds=st.integers(1, 24))
@settings(max_examples=150, deadline=None)
def test_every_driver_is_covered_before_any_driver_repeats(config: RotationSettings, seed: str, rounds: int) -> None:
    everything, covered = set(BANK.drivers), set()
    for asked in simulate(rounds, config, seed):
        for key in asked:
            if key == BANK.enps.key:
                continue
            driver = DRIVER_OF[key]
            if driver in covered:
                assert covered == everything, f"{driver} repeated before the cycle was complete"
                covered = set()
            covered.add(driver)


@given(config=configs, seed=st.text(max_size=8), rounds=st.integers(1, 24))
@settings(max_examples=150, deadline=None)
def test_each_pulse_has_k_questions_from_k_drivers_plus_enps_on_its_rounds(
    config: RotationSettings, seed: str, rounds: int
) -> None:
    for number, asked in enumerate(simulate(rounds, config, seed), start=1):
        driver_questions = [key for key in asked if key != BANK.enps.key]
        assert len(driver_questions) == config.questions_per_pulse
        assert len({DRIVER_OF[key] for key in driver_questions}) == config.questions_per_pulse
        assert (BANK.enps.key in asked) == (number % config.enps_every == 0)


@given(config=configs, seed=st.text(max_size=8))
@settings(max_examples=150, deadline=None)
def test_a_question_comes_back_within_the_window_only_when_its_driver_has_none_left(
    config: RotationSettings, seed: str
) -> None:
    history = simulate(30, config, seed)
    for number, asked in enumerate(history):
        window = [key for past in history[max(0, number - config.no_repeat_rounds) : number] for key in past]
        for key in asked:
            if key != BANK.enps.key and key in window:
                siblings = {q.key for q in BANK.by_driver(DRIVER_OF[key])}
                assert siblings <= set(window), f"{key} came back although its driver had a fresh question"


@pytest.mark.parametrize("seed", ["a", "b", "team-3", "team-4:group-2"])
def test_with_the_default_settings_no_question_repeats_within_four_rounds(seed: str) -> None:
    config = RotationSettings()
    last_seen: dict[str, int] = {}
    for number, asked in enumerate(simulate(60, config, seed)):
        for key in asked:
            if key != BANK.enps.key and key in last_seen:
                assert number - last_seen[key] > config.no_repeat_rounds, f"{key} came back too soon"
            last_seen[key] = number


@given(seed=st.text(max_size=8), rounds=st.integers(0, 12))
@settings(max_examples=50, deadline=None)
def test_the_same_history_and_seed_give_the_same_questions(seed: str, rounds: int) -> None:
    config = RotationSettings()
    history = simulate(rounds, config, seed)
    assert pick_questions(history, BANK, config, rounds + 1, seed) == pick_questions(
        history, BANK, config, rounds + 1, seed
    )


def test_units_of_one_team_get_different_drivers_in_the_same_round() -> None:
    config = RotationSettings(questions_per_pulse=3)
    taken: Counter[str] = Counter()
    picks = []
    for unit in range(3):
        asked = pick_questions([], BANK, config, 1, seed=f"team-7:{unit}", taken_this_round=taken)
        picks.append(asked)
        taken.update(asked)
        taken.update(DRIVER_OF[key] for key in asked)
    drivers = [DRIVER_OF[key] for asked in picks for key in asked]
    assert len(drivers) == len(set(drivers)) == 9


def test_different_seeds_spread_the_first_round() -> None:
    firsts = {tuple(pick_questions([], BANK, RotationSettings(), 1, seed=str(s))) for s in range(20)}
    assert len(firsts) > 10


def test_it_refuses_more_than_five_questions_per_pulse() -> None:
    with pytest.raises(ValueError, match="between 1 and 5"):
        RotationSettings(questions_per_pulse=6)
