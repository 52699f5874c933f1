"""Plain records passed between the pure core and the repositories (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass

# Slack's own limit on the comment box is set to this too; the server checks it again.
COMMENT_MAX_CHARS = 1000


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


@dataclass(frozen=True)
class AskedQuestion:
    """A question as a pulse DM shows it: the stored version's id, its driver, wording and scale."""

    question_id: int
    driver: str
    text: str
    scale: str


@dataclass(frozen=True)
class PulseView:
    """Everything a pulse DM shows, as plain values: the notifier turns it into Block Kit."""

    round_id: int
    questions: tuple[AskedQuestion, ...]
    answers: dict[int, int | None]  # question id -> value, or None when skipped; missing = not answered
    threshold: int
    agreement_labels: tuple[str, ...]
