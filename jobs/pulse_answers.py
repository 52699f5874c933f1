"""What a click or a comment in a pulse DM does. Every check runs against the database, never the payload:
a button value names a round and a question, and both must belong to a pulse sent to the clicking member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jobs.sentiment import polarity
from storage.db import SessionFactory, transaction
from storage.pulses import record_answer
from storage.records import COMMENT_MAX_CHARS, AskedQuestion, PulseView
from storage.responses import MemberDelivery, delivery_answers, find_delivery, record_comment, refresh_participation
from storage.rounds import asked_questions

CLOSED = "This pulse has closed, so nothing was recorded. Thank you all the same: the next one is on its way."
NOT_YOURS = "That button does not belong to a pulse sent to you, so nothing was recorded."


@dataclass(frozen=True)
class Recorded:
    view: PulseView
    delivery_id: int
    channel_id: str | None
    message_ts: str | None


@dataclass(frozen=True)
class Refused:
    """Nothing was stored; `reason` is said to the member (ephemeral)."""

    reason: str


@dataclass(frozen=True)
class ButtonValue:
    round_id: int
    question_id: int | None
    value: int | None


def parse_button_value(raw: str) -> ButtonValue | None:
    """What a button's value names; None when it is not one Tandem made."""
    try:
        data = json.loads(raw)
        return ButtonValue(
            int(data["r"]),
            int(data["q"]) if "q" in data else None,
            int(data["v"]) if "v" in data else None,
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def answer(
    factory: SessionFactory,
    labels: tuple[str, ...],
    slack_user_id: str,
    raw_value: str,
    value: int | None,
    now: datetime,
) -> Recorded | Refused:
    """Record `value` (None: a skip) for the question the button names, and return the DM's new state."""
    parsed = parse_button_value(raw_value)
    if parsed is None or parsed.question_id is None or parsed.value != value:
        return Refused(NOT_YOURS)
    round_id, question_id = parsed.round_id, parsed.question_id
    with transaction(factory) as session:
        delivery = _open_delivery(session, round_id, slack_user_id, now)
        if isinstance(delivery, Refused):
            return delivery
        questions = asked_questions(session, round_id, delivery.group_no).get(delivery.group_no, ())
        question = next((q for q in questions if q.question_id == question_id), None)
        if question is None or (value is not None and value not in _scale(question)):
            return Refused(NOT_YOURS)
        record_answer(session, round_id, delivery.delivery_id, question_id, value)
        refresh_participation(session, delivery.delivery_id)
        answers = delivery_answers(session, delivery.delivery_id)
    view = PulseView(round_id, questions, answers, delivery.threshold, labels)
    return Recorded(view, delivery.delivery_id, delivery.channel_id, delivery.message_ts)


def latest_answers(factory: SessionFactory, delivery_id: int) -> dict[int, int | None]:
    """What the member's answers are now (another click may have committed after this one)."""
    with factory() as session:
        return delivery_answers(session, delivery_id)


@dataclass(frozen=True)
class CommentForm:
    round_id: int
    threshold: int
    drivers: tuple[str, ...]  # the drivers this member was asked about, for "what is it about?"


def comment_form(factory: SessionFactory, slack_user_id: str, raw_value: str, now: datetime) -> CommentForm | Refused:
    parsed = parse_button_value(raw_value)
    if parsed is None:
        return Refused(NOT_YOURS)
    with transaction(factory) as session:
        delivery = _open_delivery(session, parsed.round_id, slack_user_id, now)
        if isinstance(delivery, Refused):
            return delivery
        questions = asked_questions(session, delivery.round_id, delivery.group_no).get(delivery.group_no, ())
    drivers = tuple(dict.fromkeys(q.driver for q in questions if q.scale != "enps"))
    return CommentForm(delivery.round_id, delivery.threshold, drivers)


def comment(
    factory: SessionFactory, slack_user_id: str, round_id: int, driver: str | None, text: str, now: datetime
) -> Refused | None:
    """Store the member's comment for the round without their name; None when stored (or empty)."""
    text = text.strip()
    if len(text) > COMMENT_MAX_CHARS:
        return Refused(f"A comment can be at most {COMMENT_MAX_CHARS:,} characters; this one has {len(text):,}.")
    with transaction(factory) as session:
        delivery = _open_delivery(session, round_id, slack_user_id, now)
        if isinstance(delivery, Refused):
            return delivery
        if not text:
            return None
        questions = asked_questions(session, round_id, delivery.group_no).get(delivery.group_no, ())
        if driver is not None and driver not in {q.driver for q in questions}:
            driver = None
        record_comment(session, round_id, delivery.delivery_id, driver, text, polarity(text))
        refresh_participation(session, delivery.delivery_id)
    return None


def _open_delivery(session: Session, round_id: int, slack_user_id: str, now: datetime) -> MemberDelivery | Refused:
    delivery = find_delivery(session, round_id, slack_user_id, now)
    if delivery is None:
        return Refused(NOT_YOURS)
    if delivery.closed:
        return Refused(CLOSED)
    return delivery


def _scale(question: AskedQuestion) -> range:
    return range(0, 11) if question.scale == "enps" else range(1, 6)
