"""Pure: the weekly digest as terminal text (`tandem digest --format text`), and the wording it shares
with the Slack message (bot/blocks/digest.py), so both say the same things in the same order.

Layout only: what a digest says is decided in jobs/digest.py. Text is wrapped for an 80-column terminal.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date

from jobs.digest import MAX_COMMENTS, CommentLine, Digest, Line
from jobs.digest_words import format_number, format_value

WIDTH = 80
LABEL_WIDTH = 24
VALUE_WIDTH = 9
CHANGE_WIDTH = 11
COMMENT_CHARS = 500  # a digest quotes; the whole comment stays in the team's records
MAX_DRIVER_LINES = 20  # past it the list stops helping; notable moves are kept first

EX_TITLE = "Team pulse"
DRIVERS_TITLE = "Drivers"
DRIVERS_NOTE = (
    "Agreement from 1 to 5, each compared with the last time it was asked; a driver not asked this week "
    "shows its latest answers of the last 4 weeks."
)
CX_TITLE = "Customers"
LINK_TITLE = "Pulse and customers"
COMMENTS_TITLE = "What people said"
NO_DATA = "No data this week."
ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
TEXT_MARKERS = {True: "[+]", False: "[!]"}  # ASCII: emoji are double-width or missing in many terminals


def privacy_text(k: int) -> str:
    return (
        f"Scores appear only when at least {k} people answered; comments from {max(k, 5)}. "
        "Nobody, including admins, can see who said what."
    )


def trend_rule(bad: str, good: str) -> str:
    """How arrows and markers are judged; `bad`/`good` are the markers of the medium (emoji or ASCII)."""
    return (
        f"Arrows show the change since a number was last measured. {bad} marks a worrying move and {good} a "
        "welcome one: beyond about 2 standard errors of the team's usual week-to-week spread, compared with "
        "its 12-week average."
    )


def participation_text(digest: Digest) -> str | None:
    """ "14 of 18 answered (78%)"; imported rounds know who answered but not how many were asked."""
    if digest.asked is None:
        if not digest.respondents:
            return None
        return f"{digest.respondents} answered (imported round: how many were asked is not recorded)"
    if not digest.asked and not digest.respondents:
        return None
    rate = f" ({100 * digest.participation:.0f}%)" if digest.participation is not None else ""
    return f"{digest.respondents} of {digest.asked} answered{rate}"


def change_text(line: Line) -> str:
    """The move since the number was last measured: "↓ 6", "↑ 3 pts", "→ no change"; "" when unknown."""
    if line.value is None or line.change_previous is None or line.direction not in ARROWS:
        return ""
    if line.direction == "flat":
        return "→ no change"
    return f"{ARROWS[line.direction]} {_amount(line.kind, abs(line.change_previous))}"


def _amount(kind: str, size: float) -> str:
    # The arrow carries the sign; percentages move in points, not in percent of themselves.
    if kind in ("percent", "share"):
        points = 100 * size if kind == "share" else size
        return f"{points:.1f} pts" if points < 0.95 else "1 pt" if round(points) == 1 else f"{points:.0f} pts"
    if kind in ("index", "signed"):
        return f"{size:.1f}" if size < 0.95 else f"{size:.0f}"
    if kind == "score":
        return f"{size:.2f}" if size < 0.1 else f"{size:.1f}"
    return format_number(kind, size)


def notable_text(line: Line) -> str | None:
    """Why a move is marked: it is judged against the 12-week average, not the last value."""
    if not line.notable or line.change_12w is None:
        return None
    return f"clearly {'above' if line.change_12w > 0 else 'below'} its 12-week average"


def sentence(note: str) -> str:
    """A lower-case note from the model ("no comments this week") as a sentence of its own."""
    note = note.strip()
    return note[:1].upper() + note[1:] + ("" if note.endswith((".", "!", "?")) else ".")


def all_empty(lines: Sequence[Line]) -> bool:
    """Nothing to show and nothing hidden: one "no data" line says it better than a row of dashes."""
    return all(line.value is None and not line.suppressed for line in lines)


def shown_drivers(lines: Sequence[Line], limit: int = MAX_DRIVER_LINES) -> tuple[list[Line], int]:
    """At most `limit` drivers, notable moves first, kept in the model's order; and how many were left out."""
    if len(lines) <= limit:
        return list(lines), 0
    ranked = sorted(range(len(lines)), key=lambda i: (not lines[i].notable, lines[i].value is None, i))
    keep = sorted(ranked[:limit])
    return [lines[i] for i in keep], len(lines) - limit


def more_drivers_text(hidden: int) -> str:
    return f"… and {hidden} more drivers, none with a notable move."


def line_label(line: Line) -> str:
    """The label, with the week a driver was last asked when that was not this week."""
    if line.asked_on is None:
        return line.label
    return f"{line.label} ({asked_text(line.asked_on)})"


def asked_text(monday: date) -> str:
    return f"week of {monday.day} {monday:%b}"


def round_text(day: date) -> str:
    """Comments are dated by their round only, never by when they were written."""
    return f"round of {day.day} {day:%b}"


def comment_topic(comment: CommentLine, digest: Digest) -> str | None:
    if not comment.driver or comment.driver == "other":
        return None
    names = {line.key: line.label for line in digest.drivers}
    return names.get(comment.driver, comment.driver.replace("_", " ").capitalize())


def comment_source(comment: CommentLine, digest: Digest) -> str:
    topic = comment_topic(comment, digest)
    return round_text(comment.round_opened_on) + (f", about {topic}" if topic else "")


def clip(text: str, limit: int = COMMENT_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def digest_text(digest: Digest) -> str:
    """The whole digest for a terminal, in the order of the Slack message."""
    title = f"{digest.team} · week {digest.week}"
    out = [title, "=" * min(len(title), WIDTH), ""]
    out += [*_wrapped(digest.headline), ""]
    participation = participation_text(digest)
    if participation:
        out.append(participation)
    out += _wrapped(digest.missing)
    out += ["", *_group(EX_TITLE.upper(), digest.ex)]
    if digest.drivers:
        lines, hidden = shown_drivers(digest.drivers)
        out += ["", DRIVERS_TITLE.upper(), *_wrapped([DRIVERS_NOTE], "  ")]
        out += [row for line in lines for row in _row(line)]
        if hidden:
            out.append("  " + more_drivers_text(hidden))
    out += ["", *_group(CX_TITLE.upper(), digest.cx)]
    if digest.link_sentence:
        out += ["", LINK_TITLE.upper(), *_wrapped([digest.link_sentence], "  ")]
    out += ["", COMMENTS_TITLE.upper()]
    for number, comment in enumerate(digest.comments[:MAX_COMMENTS]):
        out += [""] * (number > 0) + _quote(comment, digest)
    if digest.comments_note:
        out += _wrapped([sentence(digest.comments_note)], "  ")
    out += ["", *_wrapped([privacy_text(digest.k), trend_rule(TEXT_MARKERS[False], TEXT_MARKERS[True])])]
    return "\n".join(out) + "\n"


def _group(title: str, lines: Sequence[Line]) -> list[str]:
    if all_empty(lines):
        return [title, "  " + NO_DATA]
    return [title, *(row for line in lines for row in _row(line))]


def _row(line: Line) -> list[str]:
    """One aligned row; a label too long for its column gets a line of its own."""
    label = line.label
    if line.value is None:
        rest = line.note or "no data this week"
    else:
        rest = f"{format_value(line):>{VALUE_WIDTH}}  {change_text(line):<{CHANGE_WIDTH}}"
        why = notable_text(line)
        if why:
            rest += f" {TEXT_MARKERS[bool(line.good)]} {why.removeprefix('clearly ')}"
    if line.asked_on is not None:  # in the row, not the label: the label column stays narrow
        rest = f"{rest.rstrip()}  ({asked_text(line.asked_on)})"
    rest = rest.rstrip()
    if len(label) > LABEL_WIDTH:
        return [*_wrapped([label], "  "), f"  {'':<{LABEL_WIDTH}} {rest}"]
    return [f"  {label:<{LABEL_WIDTH}} {rest}"]


def _quote(comment: CommentLine, digest: Digest) -> list[str]:
    quoted = [
        piece
        for paragraph in clip(comment.text).splitlines() or [""]
        for piece in textwrap.wrap(paragraph, WIDTH - 4, initial_indent="  > ", subsequent_indent="  > ") or ["  >"]
    ]
    return [*quoted, *_wrapped([f"({comment_source(comment, digest)})"], " " * 6)]


def _wrapped(paragraphs: Sequence[str], indent: str = "") -> list[str]:
    return [
        piece
        for paragraph in paragraphs
        for piece in textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent) or [""]
    ]
