"""Posting a team's digest with its chart, through the real slack_sdk client, to the Slack stand-in."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.notifier import CHART_ALT_TEXT, CHART_READY_WAITS, SlackNotifier
from bot.settings import Secret, Settings
from bot.slack_client import make_web_client
from jobs.chart import render_trend_chart
from jobs.notifier import Posted, RateLimited, SendFailed
from tests.slack_standin import BOT_TOKEN, SlackStandin

CHANNEL = "C0DIGEST01"
TEXT = "Support, week 2026-W47: engagement 76 (up 3), CSAT 91%"
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Support: week 2026-W47"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Engagement* 76 (up 3)\n*CSAT* 91%"}},
]
WEEKS = [date(2026, 8, 31) + timedelta(weeks=n) for n in range(12)]
CHART = render_trend_chart(WEEKS, [60.0 + n for n in range(12)], [None] * 6 + [90.0] * 6, "Support: last 12 weeks")
CHART_NAME = "support-2026-W47.png"


def client_for(standin: SlackStandin) -> WebClient:
    """The client the jobs use, without its own 429 retries so the notifier's RateLimited shows."""
    settings = Settings(slack_bot_token=Secret(BOT_TOKEN), slack_api_url=standin.base_url)
    return make_web_client(settings, retry_rate_limits=False)


class Waits:
    """Stands in for time.sleep: records the waits instead of taking them."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def notifier(standin: SlackStandin, waits: Waits) -> SlackNotifier:
    return SlackNotifier(client_for(standin), sleep=waits)


def posted_blocks(standin: SlackStandin) -> list[list[dict[str, Any]]]:
    return [call.body["blocks"] for call in standin.calls_to("chat.postMessage")]


def test_a_digest_with_a_chart_is_one_message_with_its_blocks_and_the_chart_under_them(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    posted = notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    [file_id] = standin.uploads
    assert standin.uploads[file_id] == CHART  # the bytes arrived whole
    [message] = standin.history[CHANNEL]
    assert posted == Posted(CHANNEL, message["ts"])
    assert message["text"] == TEXT
    assert message["blocks"] == [
        *BLOCKS,
        {"type": "image", "block_id": "digest_chart", "slack_file": {"id": file_id}, "alt_text": CHART_ALT_TEXT},
    ]


def test_the_chart_is_uploaded_privately_as_a_named_png_and_shared_only_by_the_message(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    [asked] = standin.calls_to("files.getUploadURLExternal")
    assert asked.body["filename"] == CHART_NAME and int(asked.body["length"]) == len(CHART)
    assert asked.body["alt_txt"] == CHART_ALT_TEXT
    [completed] = standin.calls_to("files.completeUploadExternal")
    assert not completed.body.get("channel_id") and not completed.body.get("channels")
    assert json.loads(completed.body["files"])[0]["title"] == CHART_NAME
    [uploaded] = standin.files.values()
    assert uploaded["completed"] and uploaded["shared_to"] == []  # no file message beside the digest
    assert len(standin.history[CHANNEL]) == 1


def test_a_digest_without_a_chart_is_posted_without_uploading_anything(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    posted = notifier.post_digest(CHANNEL, TEXT, BLOCKS, None, CHART_NAME)

    assert standin.uploads == {} and standin.calls_to("files.getUploadURLExternal") == []
    assert posted_blocks(standin) == [BLOCKS]
    assert posted == Posted(CHANNEL, standin.history[CHANNEL][0]["ts"])


def test_while_slack_is_still_processing_the_chart_the_post_is_tried_again_after_a_short_wait(
    standin: SlackStandin, notifier: SlackNotifier, waits: Waits
) -> None:
    standin.file_ready_after = 2  # the first two posts naming the file are refused, as while Slack processes it

    posted = notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert waits.taken == list(CHART_READY_WAITS[:2])
    assert len(standin.calls_to("chat.postMessage")) == 3
    assert len(standin.calls_to("files.getUploadURLExternal")) == 1  # uploaded once, whatever the tries
    [message] = standin.history[CHANNEL]
    assert posted.ts == message["ts"] and message["blocks"][-1]["type"] == "image"


def test_if_slack_never_takes_the_chart_the_digest_is_posted_and_the_chart_follows_in_its_thread(
    standin: SlackStandin, notifier: SlackNotifier, waits: Waits
) -> None:
    standin.file_ready_after = 1_000

    posted = notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert waits.taken == list(CHART_READY_WAITS)
    digest, reply = standin.history[CHANNEL]
    assert posted == Posted(CHANNEL, digest["ts"]) and digest["blocks"] == BLOCKS
    assert reply["thread_ts"] == posted.ts and reply["files"][0]["name"] == CHART_NAME
    [shared] = standin.calls_to("files.completeUploadExternal")[1:]
    assert shared.body["channel_id"] == CHANNEL and shared.body["thread_ts"] == posted.ts
    assert standin.uploads[reply["files"][0]["id"]] == CHART


def test_blocks_that_leave_no_room_for_the_chart_get_it_in_the_thread(
    standin: SlackStandin, notifier: SlackNotifier, waits: Waits
) -> None:
    full = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {n}"}} for n in range(50)]

    posted = notifier.post_digest(CHANNEL, TEXT, full, CHART, CHART_NAME)

    assert posted_blocks(standin) == [full] and waits.taken == []
    digest, reply = standin.history[CHANNEL]
    assert digest["ts"] == posted.ts and reply["thread_ts"] == posted.ts


def test_once_the_digest_is_posted_a_failing_thread_reply_does_not_make_it_fail(standin: SlackStandin) -> None:
    standin.file_ready_after = 1_000

    def wait_while_slack_starts_limiting_uploads(seconds: float) -> None:
        if seconds == CHART_READY_WAITS[-1]:  # the last wait: after the chart's upload, before the reply's
            standin.rate_limit("files.getUploadURLExternal", retry_after=30)

    notifier = SlackNotifier(client_for(standin), sleep=wait_while_slack_starts_limiting_uploads)
    posted = notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    [digest] = standin.history[CHANNEL]  # posted and returned: raising now would make the job post it again
    assert posted.ts == digest["ts"] and digest["blocks"] == BLOCKS
    assert len(standin.calls_to("files.getUploadURLExternal")) == 2  # the reply's upload was the one limited


def test_an_invalid_block_that_is_not_the_chart_is_our_mistake_and_is_not_tried_again(
    standin: SlackStandin, notifier: SlackNotifier, waits: Waits
) -> None:
    standin.fail(
        "chat.postMessage",
        "invalid_blocks",
        errors=["must be less than 151 characters [json-pointer:/blocks/0/text/text]"],
    )

    with pytest.raises(SendFailed) as failure:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert str(failure.value) == "invalid_blocks" and not failure.value.passing
    assert waits.taken == [] and len(standin.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_a_channel_tandem_cannot_post_to_fails_for_good(
    standin: SlackStandin, notifier: SlackNotifier, error: str
) -> None:
    standin.fail("chat.postMessage", error)

    with pytest.raises(SendFailed) as failure:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert str(failure.value) == error and not failure.value.passing
    assert CHANNEL not in standin.history


def test_a_rate_limited_post_raises_rate_limited_with_slacks_wait(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    standin.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(RateLimited) as limited:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, None, CHART_NAME)

    assert limited.value.retry_after == 7.0


def test_a_rate_limited_upload_raises_rate_limited_before_anything_is_posted(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    standin.rate_limit("files.completeUploadExternal", retry_after=3)

    with pytest.raises(RateLimited) as limited:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert limited.value.retry_after == 3.0 and standin.calls_to("chat.postMessage") == []


def test_an_upload_url_that_answers_an_error_is_a_failure_that_may_pass(
    standin: SlackStandin, notifier: SlackNotifier
) -> None:
    standin.upload_failures = 1

    with pytest.raises(SendFailed) as failure:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert failure.value.passing and standin.calls_to("files.completeUploadExternal") == []


def test_a_slack_server_error_is_a_failure_that_may_pass(standin: SlackStandin, notifier: SlackNotifier) -> None:
    standin.fail("chat.postMessage", "internal_error")

    with pytest.raises(SendFailed) as failure:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert failure.value.passing


def test_slack_unreachable_is_a_failure_that_may_pass(standin: SlackStandin) -> None:
    standin.stop()
    notifier = SlackNotifier(client_for(standin), sleep=Waits())

    with pytest.raises(SendFailed) as failure:
        notifier.post_digest(CHANNEL, TEXT, BLOCKS, CHART, CHART_NAME)

    assert failure.value.passing


def test_the_stand_in_refuses_an_image_block_naming_a_file_it_never_received(standin: SlackStandin) -> None:
    image = {"type": "image", "slack_file": {"id": "F0NEVERSEEN"}, "alt_text": "a chart"}

    with pytest.raises(SlackApiError) as refused:
        client_for(standin).chat_postMessage(channel=CHANNEL, text=TEXT, blocks=[*BLOCKS, image])

    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["errors"] == ["invalid slack file [json-pointer:/blocks/2/slack_file]"]


def test_the_stand_in_refuses_an_image_block_naming_a_file_that_is_not_an_image(standin: SlackStandin) -> None:
    client = client_for(standin)
    uploaded = client.files_upload_v2(content=b"not a picture", filename="notes.txt")
    image = {"type": "image", "slack_file": {"id": uploaded["file"]["id"]}, "alt_text": "notes"}

    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=CHANNEL, text=TEXT, blocks=[image])

    assert refused.value.response["errors"] == ["invalid slack file [json-pointer:/blocks/0/slack_file]"]
