"""The pulse DM and modal stay within Slack's Block Kit limits (../shared/reference/slack.md section 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks.pulse import closed_message, comment_modal, privacy_line, pulse_message
from jobs.question_bank import load_default_bank
from storage.records import AskedQuestion

BANK = load_default_bank()
LONGEST = max((*BANK.questions, BANK.enps), key=lambda q: len(q.text))


def five_questions_and_enps() -> list[AskedQuestion]:
    asked = [AskedQuestion(i, "workload", LONGEST.text, "agreement") for i in range(1, 6)]
    return [*asked, AskedQuestion(99, "enps", BANK.enps.text, "enps")]


def check_limits(blocks: list[dict[str, Any]], most_blocks: int) -> None:
    assert len(blocks) <= most_blocks
    for block in Block.parse_all(blocks):
        block.validate_json()  # slack_sdk raises on any length or count over Slack's limits
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            action_ids = [e["action_id"] for e in block["elements"]]
            assert len(action_ids) == len(set(action_ids))
            assert all(len(e["value"]) <= 2000 and len(e["text"]["text"]) <= 75 for e in block["elements"])


@pytest.mark.parametrize("answered", [{}, {1: 3, 2: None, 99: 10}])
def test_the_largest_pulse_fits_slacks_message_limits(answered: dict[int, int | None]) -> None:
    message = pulse_message(7, five_questions_and_enps(), answered, 5, BANK.agreement_labels)
    check_limits(message["blocks"], 50)
    assert message["text"]


def test_it_offers_one_to_five_and_skip_and_eleven_points_for_enps() -> None:
    blocks = pulse_message(7, five_questions_and_enps(), {}, 5, BANK.agreement_labels)["blocks"]
    agreement = next(b for b in blocks if b.get("block_id") == "a1")
    enps = next(b for b in blocks if b.get("block_id") == "a99")
    assert [e["text"]["text"] for e in agreement["elements"]] == ["1", "2", "3", "4", "5", "Skip"]
    assert [e["text"]["text"] for e in enps["elements"]][:11] == [str(v) for v in range(11)]
    assert json.loads(agreement["elements"][2]["value"]) == {"r": 7, "q": 1, "v": 3}


def test_the_chosen_answer_and_a_skip_are_shown_in_place() -> None:
    blocks = pulse_message(7, five_questions_and_enps(), {1: 4, 2: None}, 5, BANK.agreement_labels)["blocks"]
    first = next(b for b in blocks if b.get("block_id") == "a1")
    second = next(b for b in blocks if b.get("block_id") == "a2")
    assert [e["text"]["text"] for e in first["elements"] if e.get("style") == "primary"] == ["4"]
    assert [e["text"]["text"] for e in second["elements"] if e.get("style") == "primary"] == ["Skipped"]


def test_every_message_carries_the_privacy_line_with_the_real_threshold() -> None:
    for message in (pulse_message(7, five_questions_and_enps(), {}, 7, BANK.agreement_labels), closed_message(True, 7)):
        context = message["blocks"][-1]["elements"][0]["text"]
        assert context == privacy_line(7)
        assert "at least 7 answers" in context


def test_the_comment_modal_is_a_valid_view_with_a_thousand_character_limit() -> None:
    view = comment_modal(7, 5)
    View(**view).validate_json()
    check_limits(view["blocks"], 100)
    assert view["blocks"][0]["element"]["max_length"] == 1000
    assert view["blocks"][0]["optional"] is True


def test_the_comment_modal_offers_the_drivers_asked_about_and_something_else() -> None:
    drivers = [(d, BANK.driver_names[d]) for d in BANK.drivers]
    view = comment_modal(7, 5, drivers)
    View(**view).validate_json()
    check_limits(view["blocks"], 100)
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [*BANK.drivers, "other"]
    assert all(len(o["text"]["text"]) <= 75 for o in options)
