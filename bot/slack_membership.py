"""The jobs' membership port (jobs.team_links.SlackMembership), implemented with slack_sdk.

Give it the client that retries 429s (bot.slack_client.make_web_client's default): these calls are
few, read-only and not part of the paced pulse fan-out.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.membership import ChannelCheck, LinkSourceMissing, MembershipUnavailable

CHANNEL_MEMBERS_PAGE = 1000
NOT_VISIBLE = "that channel does not exist or Tandem cannot see it (private channels: invite Tandem first)"
# Slack's answers that mean the source is gone or hidden from Tandem, with what to tell an admin.
USERGROUP_MISSING = {
    "no_such_subteam": "the user group {id} does not exist any more",
    "plan_upgrade_required": "this Slack workspace has no user groups (they need a paid Slack plan)",
}
CHANNEL_MISSING = {
    "channel_not_found": NOT_VISIBLE,
    "method_not_supported_for_channel_type": "Tandem cannot list the members of that kind of conversation",
}
USER_UNKNOWN = frozenset({"user_not_found", "user_not_visible"})


class SlackMembershipClient:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def usergroup_members(self, usergroup_id: str) -> list[str]:
        response = self._call("usergroups_users_list", USERGROUP_MISSING, usergroup_id, usergroup=usergroup_id)
        return [str(u) for u in response.get("users") or []]

    def channel_members(self, channel_id: str) -> list[str]:
        members: list[str] = []
        cursor: str | None = None
        while True:
            response = self._call(
                "conversations_members",
                CHANNEL_MISSING,
                channel_id,
                channel=channel_id,
                limit=CHANNEL_MEMBERS_PAGE,
                cursor=cursor,
            )
            members += [str(u) for u in response.get("members") or []]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return list(dict.fromkeys(members))

    def channel_check(self, channel_id: str) -> ChannelCheck:
        try:
            channel = self._call("conversations_info", CHANNEL_MISSING, channel_id, channel=channel_id)["channel"]
        except LinkSourceMissing as missing:
            return ChannelCheck(False, "", str(missing))
        name = str(channel.get("name") or channel_id)
        if channel.get("is_archived"):
            return ChannelCheck(False, name, f"#{name} is archived: choose another channel for the digest")
        if not channel.get("is_member"):
            return ChannelCheck(False, name, f"Tandem is not in #{name}: type `/invite @Tandem` in that channel")
        return ChannelCheck(True, name, "")

    def user_profile(self, user_id: str) -> dict[str, Any] | None:
        try:
            response = self._client.users_info(user=user_id)
        except SlackApiError as error:
            if _code(error) in USER_UNKNOWN:
                return None
            raise _unavailable(error) from None
        except OSError as error:
            raise MembershipUnavailable(f"{error.__class__.__name__}: {error}") from None
        user = response.get("user")
        return dict(user) if isinstance(user, dict) else None

    def _call(self, method: str, missing: dict[str, str], source_id: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, method)(**kwargs).data  # type: ignore[no-any-return]
        except SlackApiError as error:
            code = _code(error)
            if code in missing:
                raise LinkSourceMissing(missing[code].format(id=source_id)) from None
            raise _unavailable(error) from None
        except OSError as error:  # URLError, timeouts, refused and dropped connections
            raise MembershipUnavailable(f"{error.__class__.__name__}: {error}") from None


def _code(error: SlackApiError) -> str:
    response = error.response
    return str(response.get("error", "unknown_error")) if response is not None else "unknown_error"


def _unavailable(error: SlackApiError) -> MembershipUnavailable:
    code = _code(error)
    if code == "missing_scope":
        needed = error.response.get("needed") if error.response is not None else None
        return MembershipUnavailable(f"missing_scope: reinstall Tandem with {needed or 'the scopes in manifest.yml'}")
    status = getattr(error.response, "status_code", 200)
    return MembershipUnavailable(code if code != "unknown_error" else f"HTTP {status}")
