"""Workspace-wide settings and state (the `workspace_settings` key/value table): the anonymity threshold new
teams start with, and whether Slack removed the app. The caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import WorkspaceSetting
from storage.upsert import insert_for

THRESHOLD_KEY = "anonymity_threshold"
# Set when Slack says the app was uninstalled or its bot token revoked: "<when> <which event>".
REMOVED_KEY = "app_removed"
DEFAULT_THRESHOLD = 5
# DESIGN section 4: k is settable from 3 to 10.
MIN_THRESHOLD = 3
MAX_THRESHOLD = 10


def default_threshold(session: Session) -> int:
    """The k new teams start with (and the one promised to people in no team yet)."""
    raw = session.scalar(select(WorkspaceSetting.value).where(WorkspaceSetting.key == THRESHOLD_KEY))
    try:
        k = int(raw) if raw is not None else DEFAULT_THRESHOLD
    except ValueError:
        return DEFAULT_THRESHOLD
    # A value edited by hand outside the range must never weaken the promise below the minimum.
    return min(max(k, MIN_THRESHOLD), MAX_THRESHOLD)


def set_default_threshold(session: Session, k: int) -> None:
    if not MIN_THRESHOLD <= k <= MAX_THRESHOLD:
        raise ValueError(f"the anonymity threshold must be between {MIN_THRESHOLD} and {MAX_THRESHOLD}, not {k}")
    _put(session, THRESHOLD_KEY, str(k))


def mark_app_removed(session: Session, now: datetime, why: str) -> None:
    """Slack removed the app (`why`: the event that said so): nothing scheduled is sent until it is back."""
    _put(session, REMOVED_KEY, f"{now.isoformat(timespec='seconds')} {why}")


def app_removed(session: Session) -> str | None:
    """When and how the app was removed from the workspace, or None while it is installed."""
    return session.scalar(select(WorkspaceSetting.value).where(WorkspaceSetting.key == REMOVED_KEY))


def clear_app_removed(session: Session) -> str | None:
    """The app works again (its token checked out): forget the removal; what it was, if there was one."""
    removed = app_removed(session)
    if removed is not None:
        session.execute(delete(WorkspaceSetting).where(WorkspaceSetting.key == REMOVED_KEY))
    return removed


def _put(session: Session, key: str, value: str) -> None:
    table = WorkspaceSetting.__table__
    statement = insert_for(session, table).values(key=key, value=value)
    session.execute(
        statement.on_conflict_do_update(index_elements=[table.c.key], set_={"value": statement.excluded.value})
    )
