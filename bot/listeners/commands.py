"""/pulse: the member commands (opt out, opt in, help). Admin commands join this table in a later issue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App

from bot.commands import HELP, parse_pulse_command
from storage.db import SessionFactory, transaction
from storage.members import set_opted_out, upsert_members
from storage.records import MemberRecord

OPTED_OUT = (
    "You are opted out: Tandem will not send you pulses. Answers you already gave stay in your team's "
    "anonymous results. `/pulse optin` brings you back."
)
OPTED_IN = "Welcome back: you will get the next pulse of your team. `/pulse optout` stops them again."


def register(app: App, factory: SessionFactory, clock: Callable[[], datetime]) -> None:
    def on_pulse(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse_pulse_command(str(command.get("text") or ""))
        if parsed.name in ("optout", "optin"):
            opted_out = parsed.name == "optout"
            _set_choice(factory, command, opted_out, clock())
            ack(response_type="ephemeral", text=OPTED_OUT if opted_out else OPTED_IN)
        elif parsed.name == "unknown":
            ack(response_type="ephemeral", text=f"Tandem does not know `/pulse {parsed.typed}`.\n{HELP}")
        else:
            ack(response_type="ephemeral", text=HELP)

    app.command("/pulse")(on_pulse)


def _set_choice(factory: SessionFactory, command: dict[str, Any], opted_out: bool, now: datetime) -> None:
    user_id = str(command["user_id"])
    with transaction(factory) as session:
        if not set_opted_out(session, user_id, opted_out):
            # Not synced yet: keep the choice now; the directory sync fills in the profile later.
            name = str(command.get("user_name") or "")
            record = MemberRecord(user_id, name, name, None, "UTC", False, False, False, False)
            upsert_members(session, [record], now)
            set_opted_out(session, user_id, opted_out)
