"""Pure: the modals /pulse opens where typing is awkward (picking people, a schedule), and reading them back.

A submission that does not validate gets `response_action: errors` with the message under the input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.command_words import CADENCES, WEEKDAYS
from storage.models import Team

MEMBERS_CALLBACK = "pulse_team_members"
SCHEDULE_CALLBACK = "pulse_team_schedule"
MAX_PICKED = 100  # Slack's multi_users_select takes up to 100 initial users
EARLIEST_MINUTE, LATEST_MINUTE = 5 * 60, 21 * 60  # pulses arrive in the working day


@dataclass(frozen=True)
class ScheduleChoice:
    cadence_weeks: int
    weekday: int
    minute: int


def members_form(team: Team, adding: bool, current: list[str]) -> dict[str, Any]:
    verb = "Add to" if adding else "Remove from"
    element: dict[str, Any] = {"type": "multi_users_select", "action_id": "users", "max_selected_items": MAX_PICKED}
    if not adding and current:
        element["initial_users"] = current[:MAX_PICKED]
    return {
        "type": "modal",
        "callback_id": MEMBERS_CALLBACK,
        "private_metadata": json.dumps({"team_id": team.id, "adding": adding}),
        "title": _plain(f"{verb} team"[:24]),
        "submit": _plain("Add" if adding else "Remove"),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{team.name}*"}},
            {"type": "input", "block_id": "members", "label": _plain("People"), "element": element},
        ],
    }


def read_members_form(view: dict[str, Any]) -> tuple[int, bool, tuple[str, ...]]:
    meta = json.loads(view.get("private_metadata") or "{}")
    selected = view["state"]["values"]["members"]["users"].get("selected_users") or []
    return int(meta["team_id"]), bool(meta["adding"]), tuple(str(u) for u in selected)


def schedule_form(team: Team) -> dict[str, Any]:
    cadences = {1: "weekly", 2: "biweekly", 4: "monthly"}
    cadence_options = [_option(label, label) for label in ("weekly", "biweekly", "monthly")]
    day_options = [_option(day.capitalize(), str(index)) for index, day in enumerate(WEEKDAYS, start=1)]
    start = team.window_start_minute
    return {
        "type": "modal",
        "callback_id": SCHEDULE_CALLBACK,
        "private_metadata": json.dumps({"team_id": team.id}),
        "title": _plain("Pulse schedule"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{team.name}*: when its members are asked"}},
            _select("cadence", "How often", cadence_options, cadences.get(team.every_weeks, "weekly")),
            _select("weekday", "Day", day_options, str(team.pulse_weekday)),
            {
                "type": "input",
                "block_id": "time",
                "label": _plain("Time (each member's own time zone)"),
                "element": {
                    "type": "timepicker",
                    "action_id": "time",
                    "initial_time": f"{start // 60:02d}:{start % 60:02d}",
                },
            },
        ],
    }


def read_schedule_form(view: dict[str, Any], working_days: str) -> tuple[int, ScheduleChoice | dict[str, str]]:
    """The team id and the choice, or the errors to show under the inputs (block id -> message)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = view["state"]["values"]
    cadence = (values["cadence"]["cadence"].get("selected_option") or {}).get("value", "")
    weekday = int((values["weekday"]["weekday"].get("selected_option") or {}).get("value") or 0)
    picked = values["time"]["time"].get("selected_time") or ""
    errors = {}
    minute = _minute_of(picked)
    if cadence not in CADENCES:
        errors["cadence"] = "Pick how often."
    if str(weekday) not in working_days:
        errors["weekday"] = "Pick a working day (Monday to Friday)."
    problem = schedule_time_problem(minute)
    if problem:
        errors["time"] = problem
    team_id = int(meta["team_id"])
    if errors:
        return team_id, errors
    return team_id, ScheduleChoice(CADENCES[cadence], weekday, minute)


def schedule_time_problem(minute: int) -> str:
    if not EARLIEST_MINUTE <= minute <= LATEST_MINUTE:
        return "Pick a time from 05:00 to 21:00: pulses arrive during people's day."
    return ""


def _minute_of(hhmm: str) -> int:
    try:
        hours, minutes = hhmm.split(":")
        return int(hours) * 60 + int(minutes)
    except ValueError:
        return -1


def _select(block_id: str, label: str, options: list[dict[str, Any]], initial: str) -> dict[str, Any]:
    chosen = next((o for o in options if o["value"] == initial), options[0])
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {"type": "static_select", "action_id": block_id, "options": options, "initial_option": chosen},
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}
