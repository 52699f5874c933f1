"""The pulse DM's buttons, comment modal and /pulse optout|optin over HTTP, signed as Slack signs them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from jobs.pulse_rounds import open_due_rounds
from storage.db import transaction
from storage.models import Answer, Comment, Delivery, Member, PulseRound
from tests.live_server import LiveServer, Reply
from tests.pulse_fixtures import BANK, PulseWorld, make_world, serve_tandem
from tests.pulse_payloads import answer_buttons, button_click, comment_submission, slash_command, value_of
from tests.slack_signing import form_request, interaction_request
from tests.slack_standin import SlackStandin


@dataclass
class Pulse:
    world: PulseWorld
    server: LiveServer
    round_id: int
    dms: dict[str, dict[str, Any]]  # user id -> {"channel", "ts", "blocks"}

    def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        return self.server.request("POST", "/slack/events", body, headers)

    def click(self, user: str, button: dict[str, Any]) -> Reply:
        dm = self.dms[user]
        return self.post(*interaction_request(button_click(user, dm["channel"], dm["ts"], button)))

    def first_question(self, user: str) -> list[dict[str, Any]]:
        return answer_buttons(self.dms[user]["blocks"])

    def count(self, *where: Any, model: type = Answer) -> int:
        with self.world.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture
def pulse(engine: Engine, standin: SlackStandin) -> Iterator[Pulse]:
    world = make_world(engine, standin, datetime.now(UTC))
    team = world.add_team("Support", 0, 6)
    (opened,) = open_due_rounds(world.factory, BANK, world.now, [team], right_now=True)
    world.dispatcher().send_due([team], right_now=True)
    dms = {}
    for call in standin.calls_to("chat.postMessage"):
        response_channel = "D" + call.body["channel"][1:11]
        dms[call.body["channel"]] = {"channel": response_channel, "blocks": call.body["blocks"]}
    with transaction(world.factory) as session:
        for user, ts in session.execute(
            select(Member.slack_user_id, Delivery.message_ts).join(Delivery, Delivery.member_id == Member.id)
        ):
            dms[user]["ts"] = ts
    with serve_tandem(engine, standin, world.factory, lambda: datetime.now(UTC)) as server:
        yield Pulse(world, server, opened.round_id, dms)


def test_a_click_is_acknowledged_recorded_and_the_dm_shows_the_choice(pulse: Pulse) -> None:
    four = pulse.first_question("U00000000")[3]
    reply = pulse.click("U00000000", four)
    assert reply.status == 200 and reply.body == b""
    (update_call,) = pulse.world.standin.wait_for("chat.update")
    assert update_call.body["ts"] == pulse.dms["U00000000"]["ts"]
    chosen = [b for b in answer_buttons(update_call.body["blocks"]) if b.get("style") == "primary"]
    assert [b["text"]["text"] for b in chosen] == ["4"]
    assert "1 of" in update_call.body["text"]
    assert pulse.count(Answer.value == 4, Answer.delivery_id.is_not(None)) == 1
    assert pulse.count(Delivery.answered.is_(True), model=Delivery) == 1


def settled_updates(standin: SlackStandin, quiet: float = 0.5, timeout: float = 10.0) -> list[Any]:
    """chat.update calls once there is one and no new one has arrived for `quiet` seconds (under load the
    first can take longer than `quiet`: waited for, not failed)."""
    deadline = time.monotonic() + timeout
    count = -1
    while time.monotonic() < deadline:
        calls = standin.calls_to("chat.update")
        if calls and len(calls) == count:
            return calls
        count = len(calls)
        time.sleep(quiet)
    raise AssertionError("no chat.update arrived, or they kept arriving")


def shown_value(update_call: Any) -> list[str]:
    return [b["text"]["text"] for b in answer_buttons(update_call.body["blocks"]) if b.get("style") == "primary"]


def test_concurrent_clicks_leave_one_answer_and_the_dm_ends_showing_it(pulse: Pulse) -> None:
    question = pulse.first_question("U00000001")
    replies: list[Reply] = []
    threads = [
        threading.Thread(target=lambda b=b: replies.append(pulse.click("U00000001", b))) for b in question[:5] * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in replies] == [200] * 10
    question_id = value_of(question[0])["q"]
    pulse.world.standin.wait_for("chat.update", 10)
    last_shown = shown_value(settled_updates(pulse.world.standin)[-1])
    with pulse.world.engine.connect() as connection:
        stored = connection.execute(select(Answer.value).where(Answer.question_id == question_id)).scalars().all()
    assert len(stored) == 1
    assert last_shown == [str(stored[0])]


def test_clicking_another_value_changes_the_answer(pulse: Pulse) -> None:
    question = pulse.first_question("U00000001")
    pulse.click("U00000001", question[4])
    pulse.world.standin.wait_for("chat.update", 1)
    pulse.click("U00000001", question[1])
    second = pulse.world.standin.wait_for("chat.update", 2)[1]
    assert shown_value(second) == ["2"]
    question_id = value_of(question[0])["q"]
    assert pulse.count(Answer.question_id == question_id) == 1
    assert pulse.count(Answer.question_id == question_id, Answer.value == 2) == 1


def test_a_skip_shows_as_skipped_and_is_not_an_answer(pulse: Pulse) -> None:
    skip = pulse.first_question("U00000002")[-1]
    assert skip["action_id"] == "pulse_skip"
    pulse.click("U00000002", skip)
    (update_call,) = pulse.world.standin.wait_for("chat.update")
    assert answer_buttons(update_call.body["blocks"])[-1]["text"]["text"] == "Skipped"
    assert pulse.count(Answer.value.is_(None)) == 1
    assert pulse.count(Delivery.skipped.is_(True), Delivery.answered.is_(False), model=Delivery) == 1


def tampered(button: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**button, "value": json.dumps({**value_of(button), **changes})}


@pytest.mark.parametrize(
    "forge",
    [
        lambda b: tampered(b, r=9999),  # a round that does not exist
        lambda b: tampered(b, q=b["_other_question"]),  # a question this member was not asked
        lambda b: tampered(b, v=5),  # the value does not match the button
        lambda b: {**b, "action_id": "pulse_answer:9"},  # out of the scale
        lambda b: {**b, "value": "not json"},
    ],
)
def test_a_tampered_button_is_refused_with_an_ephemeral_and_nothing_is_stored(pulse: Pulse, forge: Any) -> None:
    button = pulse.first_question("U00000003")[0]
    asked = {value_of(b)["q"] for b in pulse.first_question("U00000003")}
    others = [value_of(b)["q"] for u in pulse.dms for b in pulse.first_question(u)]
    button["_other_question"] = next((q for q in others if q not in asked), 424242)
    reply = pulse.click("U00000003", forge(button))
    assert reply.status == 200
    (ephemeral,) = pulse.world.standin.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == "U00000003" and "nothing was recorded" in ephemeral.body["text"]
    assert pulse.count() == 0


def test_someone_clicking_a_button_from_another_members_pulse_is_refused(pulse: Pulse) -> None:
    button = pulse.first_question("U00000000")[0]
    dm = pulse.dms["U00000000"]
    pulse.post(*interaction_request(button_click("U0OUTSIDER", dm["channel"], dm["ts"], button)))
    assert "not belong" in pulse.world.standin.wait_for("chat.postEphemeral")[0].body["text"]
    assert pulse.count() == 0


def test_a_click_after_the_round_closed_says_so_politely_and_records_nothing(pulse: Pulse) -> None:
    with transaction(pulse.world.factory) as session:
        session.execute(update(PulseRound).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    pulse.click("U00000004", pulse.first_question("U00000004")[2])
    (ephemeral,) = pulse.world.standin.wait_for("chat.postEphemeral")
    assert "closed" in ephemeral.body["text"] and "Thank you" in ephemeral.body["text"]
    assert pulse.count() == 0


def test_an_unknown_button_gets_an_ephemeral_explanation(pulse: Pulse) -> None:
    stray = {"action_id": "something_else", "text": {"type": "plain_text", "text": "?"}, "value": "x"}
    assert pulse.click("U00000000", stray).status == 200
    assert "not one Tandem knows" in pulse.world.standin.wait_for("chat.postEphemeral")[0].body["text"]


def comment_button(pulse: Pulse, user: str) -> dict[str, Any]:
    return next(
        b for block in pulse.dms[user]["blocks"] if block.get("block_id") == "comment" for b in block["elements"]
    )


def test_the_comment_button_opens_the_modal_and_the_comment_is_stored_without_the_member(pulse: Pulse) -> None:
    pulse.click("U00000005", comment_button(pulse, "U00000005"))
    (opened,) = pulse.world.standin.wait_for("views.open")
    view = json.loads(opened.body["view"]) if isinstance(opened.body["view"], str) else opened.body["view"]
    assert view["callback_id"] == "pulse_comment" and opened.body["trigger_id"].endswith(".trigger")
    options = next(b for b in view["blocks"] if b["block_id"] == "about")["element"]["options"]
    driver = options[0]["value"]

    text = "I love how supportive and helpful everyone on this team is."
    reply = pulse.post(*interaction_request(comment_submission("U00000005", view["private_metadata"], text, driver)))
    assert reply.status == 200 and reply.body == b""
    with pulse.world.engine.connect() as connection:
        (row,) = connection.execute(select(Comment.driver, Comment.text, Comment.polarity, Comment.round_id)).all()
    assert row.driver == driver and row.text == text and row.polarity > 0 and row.round_id == pulse.round_id
    assert not {"member_id", "user_id", "created_at"} & set(Comment.__table__.columns.keys())


def test_an_oversized_comment_is_refused_in_the_modal_and_nothing_is_stored(pulse: Pulse) -> None:
    metadata = json.dumps({"r": pulse.round_id})
    reply = pulse.post(*interaction_request(comment_submission("U00000005", metadata, "x" * 1001)))
    assert reply.status == 200
    answer = json.loads(reply.body)
    assert answer["response_action"] == "errors" and "1,000 characters" in answer["errors"]["comment"]
    assert pulse.count(model=Comment) == 0


def test_pulse_optout_and_optin_answer_ephemerally_and_stop_and_restart_the_dms(pulse: Pulse) -> None:
    reply = pulse.post(*form_request(slash_command("U00000001", " OptOut ")))
    assert reply.status == 200
    answer = json.loads(reply.body)
    assert answer["response_type"] == "ephemeral" and "opted out" in answer["text"]
    assert pulse.count(Member.opted_out.is_(True), model=Member) == 1

    json.loads(pulse.post(*form_request(slash_command("U00000001", "optin"))).body)
    assert pulse.count(Member.opted_out.is_(True), model=Member) == 0

    pulse.post(*form_request(slash_command("U0NEWCOMER", "optout")))  # not synced yet: remembered anyway
    assert pulse.count(Member.slack_user_id == "U0NEWCOMER", Member.opted_out.is_(True), model=Member) == 1


def test_an_unknown_pulse_command_gets_the_help(pulse: Pulse) -> None:
    answer = json.loads(pulse.post(*form_request(slash_command("U00000001", "frobnicate"))).body)
    assert "does not know `/pulse frobnicate`" in answer["text"] and "/pulse optout" in answer["text"]
