"""Plain records passed between the pure core and the repositories (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemberRecord:
    slack_user_id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    is_admin: bool
    is_owner: bool
    is_guest: bool
    is_deleted: bool

    @property
    def active(self) -> bool:
        return not self.is_deleted


@dataclass(frozen=True)
class Question:
    key: str
    driver: str
    text: str
    scale: str  # "agreement" (1-5) or "enps" (0-10)
