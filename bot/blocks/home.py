"""Pure Block Kit builder for the App Home tab. A HomeModel in, a `{"type": "home"}` view out.

The model already leaves out what must not be shown (a member's answers, a manager's results under
k), so this module only words and lays out; it still keeps every Block Kit limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from jobs.anonymity import NOT_ENOUGH
from storage.home_records import (
    ANSWERED,
    ASKED,
    SKIPPED,
    WAITING,
    AdminOverview,
    HomeModel,
    ManagerSummary,
    ParticipationHistory,
    RoundParticipation,
    escape_mrkdwn,
)

OPT_OUT_ACTION = "home_opt_out"
OPT_IN_ACTION = "home_opt_in"
DELETE_HISTORY_ACTION = "home_delete_history"

MAX_BLOCKS = 100  # a Home tab view
MAX_SECTION_CHARS = 3000
MAX_MANAGED_TEAMS = 20  # one section each; past it, a line points to the digests

INTRO = (
    "*What Tandem asks, and why*\n"
    "About once a week Tandem sends you a few quick questions in a DM: on workload, wellbeing, recognition, "
    "growth and more, rotating from week to week. It takes a minute. Your team's results sit next to how its "
    "customers are doing, so your leads can see where the team needs support, and act on it."
)
DELETE_CONFIRM = (
    "Tandem forgets which pulses it sent you and whether you answered or skipped them, an open pulse too "
    "(you could no longer answer it). Answers and comments you gave stay in your team's anonymous results, "
    "with nothing left that links them to you. This cannot be undone."
)
NOT_SENT_WHY = {"opted_out": "not sent: you had opted out", "undeliverable": "could not be delivered"}


def home_view(model: HomeModel, driver_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole tab: what and why, the privacy promise, your participation, then managers' and admins' parts."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Tandem: your team's weekly pulse"}},
        _section(INTRO),
        _section(privacy_text(model)),
        {"type": "divider"},
        *_participation(model),
    ]
    if model.managed:
        blocks += [{"type": "divider"}, *_managers(model.managed, driver_names or {})]
    if model.admin is not None:
        blocks += [{"type": "divider"}, *_admin(model.admin)]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def privacy_text(model: HomeModel) -> str:
    k = model.threshold
    if not model.teams:
        where = "the threshold in this workspace"
    else:
        where = "the threshold in your team" if len(model.teams) == 1 else "the lowest threshold of your teams"
    return (
        "*Your privacy*\n"
        "• Your name is never stored with an answer. While a pulse is open Tandem keeps a link so you can "
        "change your answers; when it closes the link is erased, and after that nobody, not even someone "
        "with the database, can tell which answers were yours.\n"
        f"• Team results are shown only when at least *{k}* people answered ({where}).\n"
        f"• Comments are shown only when at least *{model.comment_threshold}* people answered, shuffled and "
        "dated by pulse, not by time.\n"
        "• Managers see team numbers, never individuals. You can opt out or delete your history here at any time."
    )


def _participation(model: HomeModel) -> list[dict[str, Any]]:
    if model.teams:
        teams = ", ".join(escape_mrkdwn(t) for t in model.teams)
        status = f"You are in {teams}."
    else:
        status = "You are not in any team yet, so Tandem has nothing to ask you for now."
    if model.opted_out:
        status += " You have *opted out*: Tandem sends you no pulses until you opt back in."
    blocks = [_header("Your participation"), _section(status)]
    history = model.history
    if history.total_rounds:
        blocks.append(_context(_totals(history)))
        blocks.append(_section("\n".join(_round_line(r) for r in history.rounds)))
    else:
        blocks.append(_context("No pulses yet."))
    toggle = (
        _button("Opt back in", OPT_IN_ACTION, style="primary")
        if model.opted_out
        else _button("Opt out of pulses", OPT_OUT_ACTION)
    )
    buttons = [toggle]
    if history.total_rounds:
        delete = _button("Delete my history", DELETE_HISTORY_ACTION, style="danger")
        delete["confirm"] = {
            "title": {"type": "plain_text", "text": "Delete your history?"},
            "text": {"type": "plain_text", "text": DELETE_CONFIRM},
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger",
        }
        buttons.append(delete)
    blocks.append({"type": "actions", "block_id": "home_choices", "elements": buttons})
    return blocks


def _totals(history: ParticipationHistory) -> str:
    more = history.total_rounds > len(history.rounds)
    latest = f" (the latest {len(history.rounds)} below)" if more else ""
    return (
        f"{history.total_rounds} pulses{latest}: {history.asked} reached you, you answered {history.answered} "
        f"and skipped {history.skipped}. Tandem keeps whether you answered, never what."
    )


def _round_line(item: RoundParticipation) -> str:
    if item.outcome == ANSWERED:
        how = "answered"
    elif item.outcome == SKIPPED:
        how = "skipped"
    elif item.outcome == ASKED:
        how = "open: not answered yet" if item.open else "no answer"
    elif item.outcome == WAITING:
        how = "on its way" if item.open else "not sent"
    else:
        how = NOT_SENT_WHY.get(item.delivery_status, "not sent")
    return f"• {_day(item.opened_on)}, {escape_mrkdwn(item.team)}: {how}"


def _managers(summaries: Sequence[ManagerSummary], driver_names: Mapping[str, str]) -> list[dict[str, Any]]:
    blocks = [
        _header("Your teams' latest pulse"),
        _context(
            "The latest closed pulse of each team you manage. Numbers appear only when enough people answered; "
            "never individuals, and no comments here."
        ),
    ]
    blocks += [_section(_summary_text(s, driver_names)) for s in summaries[:MAX_MANAGED_TEAMS]]
    if len(summaries) > MAX_MANAGED_TEAMS:
        blocks.append(_context(f"… and {len(summaries) - MAX_MANAGED_TEAMS} more teams: see their digests."))
    return blocks


def _summary_text(summary: ManagerSummary, driver_names: Mapping[str, str]) -> str:
    team = f"*{escape_mrkdwn(summary.team)}*"
    if summary.opened_on is None:
        return f"{team}: no closed pulse yet."
    lines = [f"{team} · pulse of {_day(summary.opened_on)}"]
    percent = summary.participation_percent
    if summary.asked:
        lines.append(f"{summary.answered} of {summary.asked} people answered ({percent}%)")
    else:  # an imported pulse: how many answered is all that is known
        lines.append(f"{summary.answered} people answered")
    if not summary.shown:
        lines.append(f"Fewer than {summary.threshold} people answered: results stay hidden.")
        return "\n".join(lines)
    for driver in summary.drivers:
        name = driver_names.get(driver.driver) or driver.driver.replace("_", " ").capitalize()
        # A hidden cell keeps its place, in the digest's words (jobs.home_summary).
        shown = NOT_ENOUGH if driver.average is None else f"*{driver.average:.1f}* of 5"
        lines.append(f"• {escape_mrkdwn(name)}: {shown}")
    if summary.enps is not None:
        lines.append(f"• eNPS: *{summary.enps:+d}* (from -100 to +100)")
    elif summary.enps_hidden:
        lines.append(f"• eNPS: {NOT_ENOUGH}")
    if not summary.drivers and summary.enps is None and not summary.enps_hidden:
        lines.append(f"No question had {summary.threshold} answers, so there is nothing to show.")
    return "\n".join(lines)


def _admin(admin: AdminOverview) -> list[dict[str, Any]]:
    blocks = [_header("Tandem setup (admins)")]
    if admin.onboarding_open:
        steps = [
            f":white_check_mark: ~{step.title}~" if step.done else f":white_large_square: *{step.title}*: {step.how}"
            for step in admin.steps
        ]
        blocks.append(_section("*Getting started*\n" + "\n".join(steps)))
    paused = f" ({admin.paused_teams} paused)" if admin.paused_teams else ""
    blocks.append(
        _section(f"*Configuration*: {admin.teams} teams{paused} · {admin.members} active people in the directory")
    )
    if admin.problems:
        blocks += [_section(text) for text in _packed("*Needs attention*", admin.problems)]
    else:
        blocks.append(_context("No configuration problems found."))
    return blocks


def _packed(title: str, lines: Sequence[str]) -> list[str]:
    """Bulleted lines in as few section texts as fit under Slack's 3,000 characters each."""
    texts, current = [], title
    for line in lines:
        bullet = _clip(f"• {line}", MAX_SECTION_CHARS // 2)
        if len(current) + 1 + len(bullet) > MAX_SECTION_CHARS:
            texts.append(current)
            current = bullet
        else:
            current = f"{current}\n{bullet}"
    texts.append(current)
    return texts


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(text: str, action_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": action_id,
    }
    if style:
        button["style"] = style
    return button


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION_CHARS)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, MAX_SECTION_CHARS)}]}
