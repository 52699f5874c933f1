"""The App Home over HTTP, signed as Slack signs it: app_home_opened and the Home's three buttons."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from jobs import pulse_answers
from storage.models import Answer, Comment, Delivery, Member
from tests.live_server import LiveServer, Reply
from tests.pulse_fixtures import PulseWorld, make_world, serve_tandem
from tests.slack_signing import event_callback, fixture, interaction_request, json_request
from tests.slack_standin import SlackStandin, make_user
from tests.storage.test_home import answer_everything, run_round
from tests.waiting import wait_until

_event_ids = itertools.count(1)


@dataclass
class Home:
    world: PulseWorld
    server: LiveServer

    @property
    def standin(self) -> SlackStandin:
        return self.world.standin

    def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        return self.server.request("POST", "/slack/events", body, headers)

    def open_tab(self, user: str, tab: str = "home") -> Reply:
        event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab, "event_ts": "1.2"}
        return self.post(*json_request(event_callback(event, f"EvHome{next(_event_ids)}")))

    def published(self, count: int = 1) -> tuple[str, dict[str, Any]]:
        """The latest views.publish once `count` of them arrived: (user id, view)."""
        call = self.standin.wait_for("views.publish", count)[-1]
        view = call.body["view"]
        return call.body["user_id"], json.loads(view) if isinstance(view, str) else view

    def click(self, user: str, view: dict[str, Any], action_id: str, view_hash: str | None = None) -> Reply:
        """Press a button of a published Home as Slack reports it: a block_actions from a view container,
        with the hash of the Home the button was pressed in (default: the Home Slack shows now)."""
        if view_hash is None:
            view_hash = (self.standin.home_of(user) or {}).get("hash", "1.abc")
        button = next(
            e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
        )
        payload = fixture("block_actions_message_button.bolt.json")
        for key in ("channel", "response_url"):  # a Home is no conversation: Slack sends neither
            payload.pop(key)
        payload["user"] = {**payload["user"], "id": user, "username": user.lower(), "name": user.lower()}
        payload["container"] = {"type": "view", "view_id": "V0STANDIN1"}
        payload["view"] = {"id": "V0STANDIN1", "type": "home", "blocks": view["blocks"], "hash": view_hash}
        payload["actions"] = [
            {
                "action_id": button["action_id"],
                "block_id": "home_choices",
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ]
        return self.post(*interaction_request(payload))

    def count(self, *where: Any, model: type = Delivery) -> int:
        with self.world.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture
def home(engine: Engine, standin: SlackStandin) -> Iterator[Home]:
    world = make_world(engine, standin, datetime.now(UTC))
    with serve_tandem(engine, standin, world.factory, world.clock) as server:
        yield Home(world, server)


def blocks_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def action_ids(view: dict[str, Any]) -> set[str]:
    return {e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_opening_the_home_tab_publishes_the_members_home(home: Home) -> None:
    team = home.world.add_team("Support", 0, 6, anonymity_threshold=6)
    run_round(home.world, team, {"U00000001": 4})
    reply = home.open_tab("U00000001")
    assert reply.status == 200
    user, view = home.published()
    assert user == "U00000001" and view["type"] == "home"
    text = blocks_text(view)
    assert "You are in Support." in text and "at least *6* people answered" in text
    assert ", Support: answered" in text
    assert action_ids(view) == {"home_opt_out", "home_delete_history"}


def test_opening_the_messages_tab_publishes_nothing(home: Home) -> None:
    home.world.add_team("Support", 0, 6)
    assert home.open_tab("U00000001", tab="messages").status == 200
    home.open_tab("U00000002")
    assert home.published()[0] == "U00000002"
    time.sleep(0.3)
    assert len(home.standin.calls_to("views.publish")) == 1


def test_an_admin_opening_the_home_on_a_fresh_install_is_looked_up_and_sees_the_checklist(home: Home) -> None:
    home.standin.users.append(make_user(0))  # the workspace's owner, not synced yet
    home.open_tab("U00000000")
    _user, view = home.published()
    assert home.standin.calls_to("users.info")[0].body["user"] == "U00000000"
    text = blocks_text(view)
    assert "Getting started" in text and "`tandem users sync`" in text and "`/pulse team create NAME`" in text
    assert "not in any team yet" in text
    assert home.count(Member.slack_user_id == "U00000000", Member.is_owner.is_(True), model=Member) == 1


def test_the_opt_out_button_opts_out_then_opt_in_brings_the_member_back(home: Home) -> None:
    home.world.add_team("Support", 0, 6)
    home.open_tab("U00000003")
    # Settled, not "the n-th publish": opening the tab may publish twice when a click lands during it.
    view = settled(home, "U00000003")
    assert home.click("U00000003", view, "home_opt_out").status == 200
    view = settled(home, "U00000003")
    assert action_ids(view) == {"home_opt_in"} and "You have *opted out*" in blocks_text(view)
    assert home.count(Member.slack_user_id == "U00000003", Member.opted_out.is_(True), model=Member) == 1

    home.click("U00000003", view, "home_opt_in")
    view = settled(home, "U00000003")
    assert action_ids(view) == {"home_opt_out"}
    assert home.count(Member.opted_out.is_(True), model=Member) == 0


def test_someone_slack_does_not_know_to_tandem_gets_a_home_and_can_opt_out(home: Home) -> None:
    home.open_tab("U0NEWCOMER")
    view = settled(home, "U0NEWCOMER")
    assert "not in any team yet" in blocks_text(view) and "No pulses yet." in blocks_text(view)
    home.click("U0NEWCOMER", view, "home_opt_out")
    view = settled(home, "U0NEWCOMER")
    assert action_ids(view) == {"home_opt_in"}
    assert home.count(Member.slack_user_id == "U0NEWCOMER", Member.opted_out.is_(True), model=Member) == 1


def test_delete_my_history_deletes_the_deliveries_and_leaves_the_answers_unlinked(home: Home) -> None:
    team = home.world.add_team("Support", 0, 6)
    run_round(home.world, team, {"U00000002": 3})
    round_id = run_round(home.world, team, close=False)
    answer_everything(home.world, round_id, "U00000002", 5)
    answer_everything(home.world, round_id, "U00000004", 2)
    assert (
        pulse_answers.comment(home.world.factory, "U00000002", round_id, None, "Fewer meetings", home.world.now) is None
    )
    mine = select(Member.id).where(Member.slack_user_id == "U00000002").scalar_subquery()
    answers = home.count(model=Answer)
    home.open_tab("U00000002")
    view = settled(home, "U00000002")
    assert home.count(Delivery.member_id == mine) == 2

    assert home.click("U00000002", view, "home_delete_history").status == 200
    view = settled(home, "U00000002")
    assert home.count(Delivery.member_id == mine) == 0
    assert home.count(model=Delivery) == 10  # the other five people's two rounds stay
    assert home.count(model=Answer) == answers
    open_answers = home.count(Answer.round_id == round_id, model=Answer)
    unlinked = home.count(Answer.round_id == round_id, Answer.delivery_id.is_(None), model=Answer)
    assert unlinked == open_answers // 2  # theirs; U00000004's are still linked to their own delivery
    assert home.count(Comment.text == "Fewer meetings", Comment.delivery_id.is_(None), model=Comment) == 1
    assert "No pulses yet." in blocks_text(view) and action_ids(view) == {"home_opt_out"}


def settled(home: Home, user: str, quiet: float = 0.5, timeout: float = 10.0) -> dict[str, Any]:
    """The user's Home as Slack shows it once it has been published and no views.publish has arrived for
    `quiet` seconds. (Under load the first publish can take longer than `quiet`: waited for, not failed.)"""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        count = len(home.standin.calls_to("views.publish"))
        if count == seen and (shown := home.standin.home_of(user)) is not None:
            return shown
        seen = count
        time.sleep(quiet)
    raise AssertionError(f"the Home of {user} was never published, or kept being published")


def test_a_click_in_an_older_home_is_published_over_the_newer_one_only_after_a_fresh_read(home: Home) -> None:
    team = home.world.add_team("Support", 0, 6)
    run_round(home.world, team, {"U00000003": 4})
    home.open_tab("U00000003")
    first = settled(home, "U00000003")
    first_hash = home.standin.home_of("U00000003")["hash"]  # type: ignore[index]
    before = len(home.standin.calls_to("views.publish"))
    home.click("U00000003", first, "home_opt_out")
    home.published(before + 1)
    assert home.standin.home_of("U00000003")["hash"] != first_hash  # type: ignore[index]

    # A second quick click, in the Home as it was before the first one was published: its publish names
    # the old hash, Slack refuses it, and Tandem reads again and publishes what is true now.
    home.click("U00000003", first, "home_delete_history", view_hash=first_hash)
    home.published(before + 3)  # the refused publish and the one after the fresh read
    view = settled(home, "U00000003")
    assert action_ids(view) == {"home_opt_in"} and "No pulses yet." in blocks_text(view)


def test_two_quick_clicks_end_with_a_home_that_shows_both_changes(home: Home) -> None:
    team = home.world.add_team("Support", 0, 6)
    for _ in range(3):
        with home.world.factory.begin() as session:
            session.execute(update(Member).where(Member.slack_user_id == "U00000003").values(opted_out=False))
        run_round(home.world, team, {"U00000003": 4})
        home.open_tab("U00000003")
        view = settled(home, "U00000003")
        assert action_ids(view) == {"home_opt_out", "home_delete_history"}

        # Both buttons of one Home, pressed together: each publishes a Home read after its own change, in
        # either order. Whichever Slack gets last, the Home must show both changes.
        with ThreadPoolExecutor(2) as clicks:
            replies = list(clicks.map(partial(home.click, "U00000003", view), ACTIONS))
        assert [r.status for r in replies] == [200, 200]
        final = settled(home, "U00000003")
        assert action_ids(final) == {"home_opt_in"} and "No pulses yet." in blocks_text(final)
        assert home.count(Member.slack_user_id == "U00000003", Member.opted_out.is_(True), model=Member) == 1


ACTIONS = ("home_opt_out", "home_delete_history")


def test_a_home_button_is_answered_200_and_its_choice_kept_when_slack_refuses_the_publish(home: Home) -> None:
    home.world.add_team("Support", 0, 6)
    home.open_tab("U00000003")
    view = settled(home, "U00000003")
    home.standin.fail("views.publish", "internal_error", times=5)
    reply = home.click("U00000003", view, "home_opt_out")
    assert reply.status == 200 and b"Traceback" not in reply.body
    # Kept, though the Home is not redrawn.
    wait_until(lambda: home.count(Member.opted_out.is_(True), model=Member) == 1, what="the opt-out to be kept")
