"""The digest job's port (jobs.digest_job.DigestPublisher): Block Kit layout + the Slack notifier."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.digest import digest_message
from bot.notifier import SlackNotifier
from jobs.digest import Digest
from jobs.notifier import Posted

DIGEST_EVENT_TYPE = "tandem_digest"
HISTORY_PAGE = 200


class SlackDigestPublisher:
    def __init__(self, client: WebClient, notifier: SlackNotifier | None = None) -> None:
        self._client = client
        self._notifier = notifier or SlackNotifier(client)

    def publish(self, channel: str, digest: Digest, chart_png: bytes | None) -> Posted:
        message = digest_message(digest)
        return self._notifier.post_digest(
            channel,
            message["text"],
            message["blocks"],
            chart_png,
            f"tandem-{digest.week}-team-{digest.team_id}.png",
            metadata=_metadata(digest),
        )

    def find(self, channel: str, digest: Digest, since: datetime) -> Posted | None:
        """The digest posted after `since`, told by its metadata (team and week), if a crash left its ts unsaved."""
        try:
            history = self._client.conversations_history(
                channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=HISTORY_PAGE
            )
        except SlackApiError:
            return None  # cannot look: posting again is the lesser harm than never posting
        wanted = _metadata(digest)
        for message in history.get("messages") or []:
            if message.get("metadata") == wanted:
                return Posted(channel, str(message["ts"]))
        return None


def _metadata(digest: Digest) -> dict[str, object]:
    return {"event_type": DIGEST_EVENT_TYPE, "event_payload": {"team": digest.team_id, "week": digest.week}}
