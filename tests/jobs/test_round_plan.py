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
