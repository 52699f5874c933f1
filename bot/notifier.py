"""The jobs' Slack port (jobs.notifier.PulseNotifier), and digest posting for bot.digest_publisher, with slack_sdk
and the Block Kit builders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.blocks.pulse import closed_message, pulse_view_message
from jobs.notifier import Posted, RateLimited, SendFailed, Undeliverable
from jobs.pulse_schedule import member_zone
from storage.records import PulseView

# Slack's answers that mean this person will not get a DM from us, now or later.
UNDELIVERABLE = frozenset({"account_inactive", "user_not_found", "cannot_dm_bot", "user_disabled", "channel_not_found"})
PULSE_EVENT_TYPE = "tandem_pulse"
HISTORY_PAGE = 100
# Slack finishes an upload asynchronously (a Slack maintainer in slackapi/slack-github-action#413): for a
# moment after files.completeUploadExternal, a message whose image block names the file is refused with
# invalid_blocks, "invalid slack file" (python-slack-sdk#1521: ready after about 1 s). Slack's suggested
# check, polling files.info, would need the files:read scope, so the post itself is tried again after
# these waits, in seconds: 7.5 s in all.
CHART_READY_WAITS = (0.5, 1.0, 2.0, 4.0)
CHART_ALT_TEXT = "Chart of the team's engagement index and CSAT (% satisfied), week by week"
MAX_BLOCKS = 50  # per message
log = logging.getLogger(__name__)


class SlackNotifier:
    def __init__(
        self,
        client: WebClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        chart_ready_waits: Sequence[float] = CHART_READY_WAITS,
    ) -> None:
        # The client must not retry 429s itself: the fan-out paces every thread together.
        self._client = client
        self._sleep = sleep
        self._chart_ready_waits = tuple(chart_ready_waits)

    def send_pulse(self, user_id: str, view: PulseView, delivery_id: int) -> Posted:
        message = pulse_view_message(view)
        # Posting to a user id opens (or reuses) the app's DM with them: one call per DM. The metadata
        # lets a resumed run find this message again (find_pulse).
        response = self._call(
            "chat_postMessage",
            channel=user_id,
            text=message["text"],
            blocks=message["blocks"],
            metadata={"event_type": PULSE_EVENT_TYPE, "event_payload": {"delivery": delivery_id}},
            unfurl_links=False,
        )
        return Posted(str(response["channel"]), str(response["ts"]))

    def find_pulse(self, user_id: str, delivery_id: int, since: datetime) -> Posted | None:
        channel = self._call("conversations_open", users=user_id)["channel"]["id"]
        history = self._call(
            "conversations_history",
            channel=channel,
            oldest=f"{since.timestamp():.6f}",
            include_all_metadata=True,
            limit=HISTORY_PAGE,
        )
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == PULSE_EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("delivery") == delivery_id
            ):
                return Posted(channel, str(message["ts"]))
        return None

    def show_pulse(self, channel: str, ts: str, view: PulseView) -> None:
        message = pulse_view_message(view)
        self._call("chat_update", channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])

    def show_closed(self, channel: str, ts: str, took_part: bool, threshold: int) -> None:
        message = closed_message(took_part, threshold)
        self._call("chat_update", channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])

    def remind(self, channel: str, ts: str, closes_at: datetime, tz: str) -> None:
        closing = closes_at.astimezone(member_zone(tz)).strftime("%A %-d %B at %H:%M")
        self._call(
            "chat_postMessage",
            channel=channel,
            thread_ts=ts,
            text=f"A gentle reminder: your pulse above is still open until {closing}. It takes under a minute, "
            "and you can skip any question.",
        )

    def post_digest(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        chart_png: bytes | None,
        chart_name: str,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        """One message with the digest's blocks and, under them, the chart.

        Why an image block rather than sharing the file into the channel: a file shared by
        files.completeUploadExternal (channel_id, or its `blocks` argument) becomes a message of its own
        that Slack creates asynchronously, so the call returns no ts to give back as Posted (and to edit
        or find later), and the chart would sit apart from the numbers it illustrates. So the PNG is
        uploaded without a channel (private to the bot: Slack's docs for the slack_file object only ask
        that the poster can see the file) and chat.postMessage shows it with an image block naming its id
        (docs.slack.dev/reference/block-kit/composition-objects/slack-file-object), which returns the ts.

        If Slack still refuses the file after CHART_READY_WAITS, or the blocks leave no room for one more,
        the digest is posted without the chart and the chart is shared as a reply in its thread.

        A channel Tandem cannot post to (channel_not_found, not_in_channel, is_archived) raises
        SendFailed(passing=False): the digest job records it and a person fixes the channel. Nothing
        raises once the digest is posted, so a caller never posts it twice.
        """
        try:
            return self._post_digest(channel, text, blocks, chart_png, chart_name, metadata)
        except Undeliverable as error:  # said of a person's DM; here it is a channel Tandem cannot reach
            raise SendFailed(str(error), passing=False) from None

    def _post_digest(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        chart_png: bytes | None,
        chart_name: str,
        metadata: dict[str, Any] | None,
    ) -> Posted:
        # Metadata lets a resumed run find the message again (bot.digest_publisher.find).
        extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
        if chart_png is None:
            return self._post(channel, text, blocks, **extra)
        file_id = self._upload_chart(chart_png, chart_name)
        if len(blocks) < MAX_BLOCKS:
            posted = self._post_with_chart(channel, text, [*blocks, _chart_block(file_id)], **extra)
            if posted is not None:
                return posted
        # Slack kept refusing the file, or the blocks left no room for it: the digest without the chart,
        # and the chart as a reply in its thread, so the manager still finds both together.
        posted = self._post(channel, text, blocks, **extra)
        self._reply_with_chart(posted, chart_png, chart_name)
        return posted

    def _post(self, channel: str, text: str, blocks: list[dict[str, Any]], **extra: Any) -> Posted:
        response = self._call(
            "chat_postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False, **extra
        )
        return Posted(str(response["channel"]), str(response["ts"]))

    def _upload_chart(self, png: bytes, name: str) -> str:
        """files_upload_v2 without a channel: files.getUploadURLExternal, the bytes to its upload_url, then
        files.completeUploadExternal. The file is private to the bot until a message shows it."""
        try:
            response = self._call("files_upload_v2", content=png, filename=name, title=name, alt_txt=CHART_ALT_TEXT)
        except SlackRequestError as error:  # the upload URL answered something other than 200
            raise SendFailed(f"chart upload: {error}", passing=True) from None
        return str(response["files"][0]["id"])

    def _post_with_chart(self, channel: str, text: str, blocks: list[dict[str, Any]], **extra: Any) -> Posted | None:
        """Posted, or None if Slack still calls the file invalid after every wait."""
        for wait in (*self._chart_ready_waits, None):
            try:
                response = self._request(
                    "chat_postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False, **extra
                )
                return Posted(str(response["channel"]), str(response["ts"]))
            except SlackApiError as error:
                if not _file_not_ready(error):
                    raise _translate(error) from None
                if wait is None:
                    log.warning("Slack still refuses the digest chart in %s: %s", channel, error.response.data)
                    return None
                self._sleep(wait)
        return None

    def _reply_with_chart(self, posted: Posted, png: bytes, name: str) -> None:
        """A second upload, shared into the digest's thread. Best effort: the digest is already posted."""
        try:
            self._call(
                "files_upload_v2",
                content=png,
                filename=name,
                title=name,
                alt_txt=CHART_ALT_TEXT,
                channel=posted.channel,
                thread_ts=posted.ts,
            )
        except (SendFailed, RateLimited, Undeliverable, SlackRequestError) as error:
            log.warning("digest chart not added to %s %s: %s", posted.channel, posted.ts, error)

    def _call(self, method: str, **kwargs: object) -> dict:
        try:
            return self._request(method, **kwargs)
        except SlackApiError as error:
            raise _translate(error) from None

    def _request(self, method: str, **kwargs: object) -> dict:
        """The call; Slack's own errors stay SlackApiError for a caller that needs their details."""
        try:
            return getattr(self._client, method)(**kwargs).data  # type: ignore[no-any-return]
        except OSError as error:  # URLError, timeouts, refused and dropped connections
            raise SendFailed(f"{error.__class__.__name__}: {error}", passing=True) from None


def _chart_block(file_id: str) -> dict[str, Any]:
    return {
        "type": "image",
        "block_id": "digest_chart",
        "slack_file": {"id": file_id},
        "alt_text": CHART_ALT_TEXT,
    }


def _file_not_ready(error: SlackApiError) -> bool:
    """invalid_blocks about a slack_file: what Slack answers while it is still processing an upload
    (slackapi/python-slack-sdk#1521, slackapi/java-slack-sdk#1349: "invalid slack file
    [json-pointer:/blocks/N/slack_file]"). Any other invalid_blocks is our mistake and is not retried."""
    response = error.response
    if response is None or response.get("error") != "invalid_blocks":
        return False
    details = [*(response.get("errors") or []), *((response.get("response_metadata") or {}).get("messages") or [])]
    return not details or any("slack_file" in str(detail) for detail in details)


def _translate(error: SlackApiError) -> Exception:
    response = error.response
    status = getattr(response, "status_code", 200)
    code = response.get("error", "unknown_error") if response is not None else "unknown_error"
    if status == 429 or code == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after = headers.get("Retry-After") or headers.get("retry-after") or "1"
        return RateLimited(float(retry_after))
    if code in UNDELIVERABLE:
        return Undeliverable(code)
    if status >= 500 or code in ("internal_error", "service_unavailable", "fatal_error", "request_timeout"):
        return SendFailed(code if code != "unknown_error" else f"HTTP {status}", passing=True)
    return SendFailed(code, passing=False)
