"""Pure Block Kit builders for the pulse DM and its comment modal. Dicts in, dicts out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from storage.records import COMMENT_MAX_CHARS, AskedQuestion, PulseView

ANSWER_ACTION = "pulse_answer"
SKIP_ACTION = "pulse_skip"
COMMENT_ACTION = "pulse_comment_open"
COMMENT_CALLBACK = "pulse_comment"


def privacy_line(threshold: int) -> str:
    return (
        f"Only team results with at least {threshold} answers are shown; comments are anonymous. "
        "Your name is never stored with an answer."
    )


def pulse_message(
    round_id: int,
    questions: Sequence[AskedQuestion],
    answers: Mapping[int, int | None],
    threshold: int,
    agreement_labels: Sequence[str],
) -> dict[str, Any]:
    """The DM: greeting, one block pair per question (answered ones show the choice), comment, privacy.

    `answers` maps question ids to the chosen value, or None for a skip; missing means unanswered.
    """
    blocks: list[dict[str, Any]] = [
        _section(
            f"*Your pulse for this week* ({len(questions)} quick questions). Tap an answer; you can change it "
            "until the pulse closes."
        ),
        _context(f"1 = {agreement_labels[0]} · 5 = {agreement_labels[-1]}"),
    ]
    for number, question in enumerate(questions, start=1):
        blocks.append(_section(f"*{number}.* {question.text}", block_id=f"q{question.question_id}"))
        blocks.append(_choices(round_id, question, answers))
    blocks.append(
        {
            "type": "actions",
            "block_id": "comment",
            "elements": [_button("Add a comment", COMMENT_ACTION, json.dumps({"r": round_id}))],
        }
    )
    blocks.append(_context(privacy_line(threshold)))
    answered = sum(1 for q in questions if q.question_id in answers)
    return {"text": f"Your weekly pulse: {answered} of {len(questions)} answered", "blocks": blocks}


def pulse_view_message(view: PulseView) -> dict[str, Any]:
    return pulse_message(view.round_id, view.questions, view.answers, view.threshold, view.agreement_labels)


def closed_message(took_part: bool, threshold: int) -> dict[str, Any]:
    text = (
        "This pulse has closed. Thank you for taking part: your answers now count, without your name, "
        "in your team's results."
        if took_part
        else "This pulse has closed. No answer this time, and that is fine."
    )
    return {"text": text, "blocks": [_section(text), _context(privacy_line(threshold))]}


COMMENT_ABOUT_OTHER = "other"


def comment_modal(round_id: int, threshold: int, drivers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The comment form. `drivers` are (key, name) pairs the member was asked about, offered as a topic."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": "comment",
            "optional": True,
            "label": {"type": "plain_text", "text": "Anything you want your team's leads to hear?"},
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "multiline": True,
                "max_length": COMMENT_MAX_CHARS,
            },
        }
    ]
    if drivers:
        options = [_option(name, key) for key, name in drivers] + [_option("Something else", COMMENT_ABOUT_OTHER)]
        blocks.append(
            {
                "type": "input",
                "block_id": "about",
                "optional": True,
                "label": {"type": "plain_text", "text": "What is it about?"},
                "element": {"type": "static_select", "action_id": "driver", "options": options},
            }
        )
    blocks.append(_context(privacy_line(threshold)))
    return {
        "type": "modal",
        "callback_id": COMMENT_CALLBACK,
        "private_metadata": json.dumps({"r": round_id}),
        "title": {"type": "plain_text", "text": "Anonymous comment"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _choices(round_id: int, question: AskedQuestion, answers: Mapping[int, int | None]) -> dict[str, Any]:
    values = range(0, 11) if question.scale == "enps" else range(1, 6)
    chosen = answers.get(question.question_id, -1)
    elements = [
        _button(
            str(value),
            f"{ANSWER_ACTION}:{value}",
            json.dumps({"r": round_id, "q": question.question_id, "v": value}),
            primary=chosen == value,
        )
        for value in values
    ]
    skipped = question.question_id in answers and chosen is None
    elements.append(
        _button(
            "Skipped" if skipped else "Skip",
            SKIP_ACTION,
            json.dumps({"r": round_id, "q": question.question_id}),
            primary=skipped,
        )
    )
    return {"type": "actions", "block_id": f"a{question.question_id}", "elements": elements}


def _button(text: str, action_id: str, value: str, primary: bool = False) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}
    if primary:
        button["style"] = "primary"
    return button


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
