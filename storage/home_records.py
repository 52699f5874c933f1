"""Plain records of what the App Home shows (no SQLAlchemy here, so the Block Kit builder stays pure).

Nothing here can carry a member's own answer: the member's part is the participation ledger only,
and a manager's part holds team averages only when at least k people answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Comments are shown only when at least max(k, COMMENT_MINIMUM) people answered (DESIGN section 4).
COMMENT_MINIMUM = 5

# How a round went for the member, from the ledger (Delivery.answered, .skipped and .status).
ANSWERED = "answered"
SKIPPED = "skipped"
ASKED = "asked"  # the DM reached them; no answer (yet)
WAITING = "waiting"  # the DM is still to be sent
NOT_SENT = "not_sent"  # opted out, undeliverable, or the round closed before it was sent

REACHED = ("sent", "closed")  # delivery statuses of a DM that reached the member
UNSENT = ("pending", "sending", "failed")


def outcome_of(status: str, answered: bool, skipped: bool) -> str:
    if answered:
        return ANSWERED
    if skipped:
        return SKIPPED
    if status in REACHED:
        return ASKED
    return WAITING if status in UNSENT else NOT_SENT


def problem_line(
    team: str, channel_id: str | None, channel_ok: bool, manager: str | None, k: int, people: int
) -> str | None:
    """The Slack mrkdwn line naming what keeps a team from working, or None when nothing does."""
    found = []
    if channel_id is None:
        found.append("no digest channel (`/pulse team channel NAME #channel`)")
    elif not channel_ok:
        found.append(f"Tandem cannot post in <#{channel_id}> (type `/invite @Tandem` there)")
    if people < k:
        found.append(f"{people} people can answer, fewer than its threshold of {k}: its results never show")
    if not manager:
        found.append("no manager (`/pulse team manager NAME @person`)")
    return f"*{escape_mrkdwn(team)}*: " + "; ".join(found) if found else None


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; a team named `<!channel>` must not notify anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class RoundParticipation:
    team: str
    opened_on: date
    outcome: str  # one of the constants above
    delivery_status: str  # the raw status, for saying why a pulse was not sent
    open: bool


@dataclass(frozen=True)
class ParticipationHistory:
    rounds: tuple[RoundParticipation, ...]  # the latest first
    total_rounds: int
    asked: int
    answered: int
    skipped: int


NO_HISTORY = ParticipationHistory((), 0, 0, 0, 0)


@dataclass(frozen=True)
class DriverAverage:
    driver: str
    average: float | None  # 1-5; None when hidden: fewer than k people stand behind it
    answers: int

    @property
    def hidden(self) -> bool:
        return self.average is None


@dataclass(frozen=True)
class ManagerSummary:
    """A managed team's latest closed round. `drivers` and `enps` are empty unless at least k answered."""

    team: str
    opened_on: date | None  # None: the team has no closed round yet
    threshold: int
    asked: int
    answered: int
    drivers: tuple[DriverAverage, ...] = ()
    enps: int | None = None  # -100..100
    enps_hidden: bool = False  # eNPS was asked, but fewer than k people answered it

    @property
    def shown(self) -> bool:
        return self.opened_on is not None and self.answered >= self.threshold

    @property
    def participation_percent(self) -> int | None:
        return round(100 * self.answered / self.asked) if self.asked else None


@dataclass(frozen=True)
class OnboardingStep:
    title: str
    done: bool
    how: str  # Slack mrkdwn naming the exact command


@dataclass(frozen=True)
class AdminOverview:
    teams: int
    paused_teams: int
    members: int  # active people in the directory
    problems: tuple[str, ...]
    steps: tuple[OnboardingStep, ...]

    @property
    def onboarding_open(self) -> bool:
        return not all(step.done for step in self.steps)


@dataclass(frozen=True)
class HomeModel:
    slack_user_id: str
    in_directory: bool
    opted_out: bool
    teams: tuple[str, ...]
    threshold: int  # the smallest k of the member's teams, or the workspace default
    history: ParticipationHistory
    managed: tuple[ManagerSummary, ...] = ()
    admin: AdminOverview | None = None

    @property
    def comment_threshold(self) -> int:
        return max(self.threshold, COMMENT_MINIMUM)
