"""Events API listeners: keep the member directory current between daily syncs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App

from jobs.members import member_from_slack
from storage.db import SessionFactory, transaction
from storage.members import upsert_members

log = logging.getLogger(__name__)


def register(app: App, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
    def store_user(event: dict[str, Any]) -> None:
        record = member_from_slack(event.get("user") or {})
        if record is None:
            return
        with transaction(factory) as session:
            upsert_members(session, [record], clock())

    app.event("team_join")(store_user)
    app.event("user_change")(store_user)
    # Registered last: any event no listener above wants is acknowledged (200) and dropped quietly.
    app.event(re.compile(".*"))(_ignore)


def _ignore(event: dict[str, Any]) -> None:
    log.debug("ignoring %s event", event.get("type"))
