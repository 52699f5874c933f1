"""A pulse round end to end: sent by `tandem pulse send`, answered through `tandem serve`, reminded,
closed and erased, with the Slack stand-in on the other side of the real slack_sdk client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from jobs.notifier import PulseNotifier
from jobs.pulse_tick import PulseTick
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Answer, Comment, Delivery, PulseRound
from tests.bot.test_serve import free_port, wait_until_ready
from tests.cli_runner import run_tandem, start_tandem
from tests.live_server import request
from tests.pulse_fixtures import BANK, make_world
from tests.pulse_payloads import answer_buttons, button_click, comment_submission
from tests.slack_signing import SIGNING_SECRET, interaction_request
from tests.slack_standin import BOT_TOKEN, SlackStandin, dm_channel


def test_a_round_goes_out_is_answered_reminded_closed_and_erased(tmp_path: Path, standin: SlackStandin) -> None:
    url = f"sqlite:///{tmp_path / 'tandem.db'}"
    engine = make_engine(url)
    upgrade(engine)
    world = make_world(engine, standin, datetime.now(UTC))
    world.add_team("Support", 0, 6)
    settings = {"SLACK_BOT_TOKEN": BOT_TOKEN, "TANDEM_SLACK_API_URL": standin.base_url, "TANDEM_DATABASE_URL": url}

    sent = run_tandem("pulse", "send", "--team", "Support", "--now", cwd=tmp_path, **settings)
    assert sent.returncode == 0, sent.stderr
    assert "round 1 opened for 6 members" in sent.stdout and "pulse DMs: 6 sent" in sent.stdout
    dms = {c.body["channel"]: c for c in standin.calls_to("chat.postMessage")}
    assert len(dms) == 6

    port = free_port()
    server = start_tandem(
        "serve",
        cwd=tmp_path,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TANDEM_PORT=str(port),
        TANDEM_SCHEDULER="off",
        **settings,
    )
    try:
        wait_until_ready(server, port)
        with engine.connect() as connection:
            timestamps = dict(connection.execute(select(Delivery.channel_id, Delivery.message_ts)).all())

        def click(user: str, button: dict) -> None:
            channel = dm_channel(user)
            payload = button_click(user, channel, timestamps[channel], button)
            assert request(port, "POST", "/slack/events", *interaction_request(payload)).status == 200

        answering = sorted(dms)[:5]  # five of six answer every question; one does not answer at all
        questions = len([b for b in dms[answering[0]].body["blocks"] if b.get("block_id", "").startswith("a")])
        for user in answering:
            for index in range(questions):
                click(user, answer_buttons(dms[user].body["blocks"], index)[2])
        standin.wait_for("chat.update", 5 * questions, timeout=20)
        metadata = f'{{"r": {world_round(engine)}}}'
        comment = comment_submission(answering[0], metadata, "Workload is heavy but the team is great.")
        assert request(port, "POST", "/slack/events", *interaction_request(comment)).status == 200

        notifier: PulseNotifier = world.notifier
        tick = PulseTick(world.factory, notifier, world.dispatcher(), BANK)
        tick(world.now + timedelta(days=3))  # past the reminder time (next working day), before the close
        tick(world.now + timedelta(days=3, hours=1))
        reminders = [c for c in standin.calls_to("chat.postMessage") if "thread_ts" in c.body]
        (silent,) = set(dms) - set(answering)
        assert [r.body["channel"] for r in reminders] == [dm_channel(silent)]

        tick(world.now + timedelta(days=6))  # the round closes
        closing = [c for c in standin.calls_to("chat.update") if "This pulse has closed" in c.body["text"]]
        assert sorted(c.body["channel"] for c in closing) == sorted(map(dm_channel, dms))  # each DM closed once
        # An answer's own update may still land during the close, but never after it: every DM ends closed.
        last = {c.body["channel"]: c.body["text"] for c in standin.calls_to("chat.update")}
        assert all("This pulse has closed" in text for text in last.values()) and len(last) == 6

        late = answer_buttons(dms[silent].body["blocks"], 0)[0]
        click(silent, late)
        assert "closed" in standin.wait_for("chat.postEphemeral")[0].body["text"]
    finally:
        server.terminate()
        server.communicate(timeout=30)

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).where(PulseRound.closed_at.is_not(None))).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(Answer)).scalar_one() == 5 * questions
        assert connection.execute(select(func.count()).where(Answer.delivery_id.is_not(None))).scalar_one() == 0
        assert connection.execute(select(Comment.delivery_id)).all() == [(None,)]
        ledger = connection.execute(select(Delivery.status, Delivery.answered)).all()
        assert sorted(ledger) == [("closed", False)] + [("closed", True)] * 5
    engine.dispose()


def world_round(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(PulseRound.id)).scalar_one()
