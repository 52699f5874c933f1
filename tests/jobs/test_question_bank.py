from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from jobs.question_bank import load_default_bank, parse_bank


def test_the_default_bank_covers_ten_drivers_with_three_questions_each_and_enps() -> None:
    bank = load_default_bank()
    assert len(bank.drivers) >= 10
    assert all(len(bank.by_driver(d)) >= 3 for d in bank.drivers)
    assert {
        "workload",
        "wellbeing",
        "recognition",
        "manager_support",
        "peer_relationships",
        "growth",
        "alignment",
        "autonomy",
        "tools_processes",
        "customer_focus",
    } <= set(bank.drivers)
    assert bank.enps.text == "How likely are you to recommend working here to a friend?"
    assert bank.enps.scale == "enps"
    assert bank.agreement_labels[0] == "Strongly disagree"
    assert bank.agreement_labels[-1] == "Strongly agree"


def test_it_includes_the_customer_empowerment_question() -> None:
    texts = [q.text for q in load_default_bank().by_driver("autonomy")]
    assert "I can resolve a customer's problem without waiting for approval." in texts


def raw_bank() -> dict:  # type: ignore[type-arg]
    return json.loads(resources.files("jobs").joinpath("question_bank.json").read_text())


def test_it_refuses_a_driver_with_fewer_than_three_questions() -> None:
    data = copy.deepcopy(raw_bank())
    data["drivers"][0]["questions"] = data["drivers"][0]["questions"][:2]
    with pytest.raises(ValueError, match="needs at least 3"):
        parse_bank(data)


def test_it_refuses_duplicate_question_keys() -> None:
    data = copy.deepcopy(raw_bank())
    data["drivers"][1]["questions"][0]["key"] = data["drivers"][0]["questions"][0]["key"]
    with pytest.raises(ValueError, match="unique"):
        parse_bank(data)
