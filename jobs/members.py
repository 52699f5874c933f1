"""Pure: which Slack users belong in the member directory, and as what."""

from __future__ import annotations

from typing import Any

from storage.records import MemberRecord

SLACKBOT_ID = "USLACKBOT"


def member_from_slack(user: dict[str, Any]) -> MemberRecord | None:
    """Turn a users.list / users.info / user_change user object into a record, or None for bots.

    Slackbot is not flagged is_bot by Slack, so it is recognised by its fixed id. Workflow and app
    users are bots too. Deleted people are kept (inactive) so their history stays consistent.
    """
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    if user_id == SLACKBOT_ID or user.get("is_bot") or user.get("is_app_user") or user.get("is_workflow_bot"):
        return None
    profile = user.get("profile") or {}
    email = profile.get("email") or None
    return MemberRecord(
        slack_user_id=user_id,
        name=str(user.get("name") or "")[:255],
        real_name=str(user.get("real_name") or profile.get("real_name") or "")[:255],
        email=email.strip().lower()[:320] if isinstance(email, str) else None,
        tz=str(user.get("tz") or "UTC")[:64],
        is_admin=bool(user.get("is_admin")),
        is_owner=bool(user.get("is_owner") or user.get("is_primary_owner")),
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        is_deleted=bool(user.get("deleted")),
    )
