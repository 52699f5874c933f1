from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jobs.question_bank import load_default_bank
from jobs.rotation import RotationSettings
from jobs.round_plan import plan_round, split_into_groups

BANK = load_default_bank()


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=3, max_value=10))
def test_every_group_has_at_least_the_threshold_and_sizes_differ_by_at_most_one(size, threshold):
    groups = split_into_groups(list(range(size)), threshold, "team-1")
    sizes = [list(groups.values()).count(g) for g in set(groups.values())]
    assert set(groups) == set(range(size))
    assert max(sizes) - min(sizes) <= 1
    if size >= threshold:
        assert min(sizes) >= threshold
    else:
        assert sizes == [size]


def test_a_member_keeps_their_group_from_round_to_round():
    members = list(range(1, 23))
    assert split_into_groups(members, 5, "team-7") == split_into_groups(list(reversed(members)), 5, "team-7")


def test_groups_of_a_team_get_different_drivers_in_the_same_round():
    plan = plan_round(list(range(15)), 5, BANK, RotationSettings(), 1, "team-1", {})
    driver_of = {q.key: q.driver for q in BANK.all_questions()}
    asked = [driver_of[key] for keys in plan.questions.values() for key in keys]
    assert len(plan.questions) == 3
    assert len(asked) == 9 and len(set(asked)) == 9  # three groups, nine different drivers of the ten


def test_the_plan_is_the_same_for_the_same_history_and_seed():
    args = (list(range(12)), 5, BANK, RotationSettings(), 3, "team-2", {0: [[BANK.questions[0].key]]})
    assert plan_round(*args) == plan_round(*args)


def run_rounds(sizes: list[int], k: int = 5) -> dict[int, list[list[str]]]:
    """Rounds of a team whose headcount follows `sizes` (members 0..size-1); each member's history."""
    history: dict[int, list[list[str]]] = {}
    for number, size in enumerate(sizes, start=1):
        plan = plan_round(list(range(size)), k, BANK, RotationSettings(enps_every=100), number, "team-3", history)
        for member, group in plan.group_of.items():
            history.setdefault(member, []).append(plan.questions[group])
    return history


def drivers_in(rounds: list[list[str]]) -> list[str]:
    driver_of = {q.key: q.driver for q in BANK.all_questions()}
    return [driver_of[key] for keys in rounds for key in keys]


def test_members_regrouped_when_their_team_grows_still_get_new_drivers_until_all_are_covered():
    # Nine people are one group for two rounds (six drivers each); a tenth joins and the team splits in two:
    # the group that now has no past of its own is still made of people who saw those six.
    history = run_rounds([9, 9, 10])
    for member in range(9):
        seen = drivers_in(history[member])
        assert len(seen) == 9 and len(set(seen)) == 9, (member, seen)


def test_after_a_reshuffle_a_group_first_gets_the_drivers_new_to_most_of_its_members():
    history = run_rounds([10, 10, 15])
    plan = plan_round(list(range(15)), 5, BANK, RotationSettings(enps_every=100), 4, "team-3", history)
    for group in set(plan.group_of.values()):
        members = [m for m, g in plan.group_of.items() if g == group]
        new_to = {d: sum(d not in drivers_in(history[m]) for m in members) for d in drivers_in([plan.questions[group]])}
        skipped = {q.driver for q in BANK.questions} - set(new_to)
        best_skipped = max((sum(d not in drivers_in(history[m]) for m in members) for d in skipped), default=0)
        assert min(new_to.values()) >= best_skipped or min(new_to.values()) == len(members)
