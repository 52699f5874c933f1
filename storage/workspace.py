"""Workspace-wide settings (the `workspace_settings` key/value table). The caller owns the transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import WorkspaceSetting
from storage.upsert import insert_for

THRESHOLD_KEY = "anonymity_threshold"
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
    table = WorkspaceSetting.__table__
    statement = insert_for(session, table).values(key=THRESHOLD_KEY, value=str(k))
    session.execute(
        statement.on_conflict_do_update(index_elements=[table.c.key], set_={"value": statement.excluded.value})
    )
