"""The jobs' Slack port (jobs.notifier.PulseNotifier), implemented with slack_sdk and the Block Kit builders."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.pulse import closed_message, pulse_view_message
from jobs.notifier import Posted, RateLimited, SendFailed, Undeliverable
from jobs.pulse_schedule import member_zone
from storage.records import PulseView

# Slack's answers that mean this person will not get a DM from us, now or later.
UNDELIVERABLE = frozenset({"account_inactive", "user_not_found", "cannot_dm_bot", "user_disabled", "channel_not_found"})
PULSE_EVENT_TYPE = "tandem_pulse"
HISTORY_PAGE = 100


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        # The client must not retry 429s itself: the fan-out paces every thread together.
        self._client = client

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

    def _call(self, method: str, **kwargs: object) -> dict:
        try:
            return getattr(self._client, method)(**kwargs).data  # type: ignore[no-any-return]
        except SlackApiError as error:
            raise _translate(error) from None
        except OSError as error:  # URLError, timeouts, refused and dropped connections
            raise SendFailed(f"{error.__class__.__name__}: {error}", passing=True) from None


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
