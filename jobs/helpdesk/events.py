"""Pure: the normalized customer outcome every provider's payload is turned into, and the parse result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("solved", "reopened", "rated", "replied")


class PayloadError(ValueError):
    """An authentic payload Tandem cannot read: the message is the one-line reason (answered with a 400,
    and kept with the raw payload so `tandem webhooks replay` can process it after a fix)."""


@dataclass(frozen=True)
class OutcomeEvent:
    """One thing that happened to a customer's ticket, as any helpdesk reports it.

    `event_key` is unique per provider for this event (the provider's event id, or derived from the
    ticket, kind and time), so a retried or replayed delivery is stored once.
    """

    event_key: str
    kind: str  # one of KINDS
    ticket_id: str
    occurred_at: datetime  # aware, UTC
    agent_email: str | None = None  # lower case
    agent_id: str | None = None  # the provider's own agent id
    group: str | None = None  # the helpdesk group / team / mailbox name
    rating_good: bool | None = None  # rated: good (True) or bad (False), when the scale is good/bad
    rating_score: int | None = None  # rated: 1-5, when the scale is a score
    ticket_created_at: datetime | None = None  # lets resolution time be computed when not sent
    first_response_seconds: int | None = None
    resolution_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown outcome kind {self.kind!r}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be aware")


@dataclass(frozen=True)
class ParsedPayload:
    """What one webhook delivery says: its outcome events (none for pings and event types Tandem ignores)."""

    events: tuple[OutcomeEvent, ...] = ()
    ignored: str = ""  # why a valid payload carries nothing for Tandem ("ping", "unsupported event type X")
    agent_ids: tuple[tuple[str, str], ...] = field(default=())  # (provider agent id, email) pairs it revealed
