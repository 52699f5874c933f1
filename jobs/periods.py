"""Pure: which period a recurring job is due for at a given moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class Daily:
    """Once a day at `at` (UTC). The period key is the date of the latest slot at or before now."""

    at: time

    def period_key(self, now: datetime) -> str:
        slot = datetime.combine(now.date(), self.at, tzinfo=now.tzinfo)
        if now < slot:
            slot -= timedelta(days=1)
        return slot.date().isoformat()
