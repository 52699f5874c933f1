"""Pure Block Kit builder for a team's weekly manager digest. A Digest in, a chat.postMessage body out.

The wording is shared with the terminal text (jobs/digest_text.py), so both say the same things in the
same order. The chart is not built here: the notifier appends an image block for the uploaded file, so
this message leaves one block free for it. Every Block Kit limit is kept for any digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobs.digest import MAX_COMMENTS, CommentLine, Digest, Line
from jobs.digest_text import (
    COMMENTS_TITLE,
    CX_TITLE,
    DRIVERS_NOTE,
    DRIVERS_TITLE,
    EX_TITLE,
    LINK_TITLE,
    NO_DATA,
    all_empty,
    change_text,
    clip,
    comment_source,
    line_label,
    more_drivers_text,
    notable_text,
    participation_text,
    privacy_text,
    sentence,
    shown_drivers,
    trend_rule,
)
from jobs.digest_words import format_value
from storage.home_records import escape_mrkdwn

MAX_BLOCKS = 50 - 1  # Slack's 50 per message, less the chart's image block the notifier adds
MAX_SECTION_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_HEADER_CHARS = 150
MAX_FALLBACK_CHARS = 300  # the notification line: a glance, not the digest
MARKERS = {True: "✅", False: "⚠️"}


def digest_message(digest: Digest) -> dict[str, Any]:
    """The digest as `{"text", "blocks"}`: headline and participation first, then the team's pulse,
    drivers, customers, the EX-CX pattern, comments, and the privacy promise last."""
    footer = _context(f"{privacy_text(digest.k)}\n{trend_rule(MARKERS[False], MARKERS[True])}")
    blocks = [
        _header(digest.team, f" · week {digest.week}"),
        *_opening(digest),
        {"type": "divider"},
        *_measures(EX_TITLE, digest.ex),
        *_drivers(digest.drivers),
        {"type": "divider"},
        *_measures(CX_TITLE, digest.cx),
        *_link(digest.link_sentence),
        {"type": "divider"},
        *_comments(digest),
    ]
    # Unreachable with the caps above (about 25 blocks at most); kept so no digest can ever be rejected.
    blocks = [*blocks[: MAX_BLOCKS - 1], footer]
    return {"text": fallback_text(digest), "blocks": blocks}


def fallback_text(digest: Digest) -> str:
    """What a notification or a screen reader says when the blocks are not shown."""
    first = digest.headline[0] if digest.headline else ""
    text = f"{digest.team}, week {digest.week}: {first}".rstrip(": ")
    return escape_mrkdwn(clip(text, MAX_FALLBACK_CHARS))


def _opening(digest: Digest) -> list[dict[str, Any]]:
    blocks = []
    if digest.headline:
        blocks.append(_section("\n".join(escape_mrkdwn(s) for s in digest.headline)))
    participation = participation_text(digest)
    if participation:
        blocks.append(_context(participation))
    if digest.missing:
        # Said before the empty tables below, so a reader knows why they are empty.
        blocks.append(_section("\n".join(f"_{escape_mrkdwn(note)}_" for note in digest.missing)))
    return blocks


def _measures(title: str, lines: Sequence[Line]) -> list[dict[str, Any]]:
    if all_empty(lines):
        return [_section(f"*{title}*\n_{NO_DATA}_")]
    fields = [_field(line) for line in lines]
    return [
        _section(f"*{title}*" if start == 0 else f"*{title}* (continued)", fields[start : start + MAX_FIELDS])
        for start in range(0, len(fields), MAX_FIELDS)
    ]


def _field(line: Line) -> str:
    """A tile: the label, then the value and its move; a notable move also says why it is marked."""
    label = f"*{escape_mrkdwn(line.label)}*"
    if line.value is None:
        return f"{label}\n_{escape_mrkdwn(line.note or NO_DATA)}_"
    value = format_value(line)
    why = notable_text(line)
    shown = f"*{value}*" if why else value
    text = f"{label}\n{shown}  {change_text(line)}".rstrip()
    if why:
        text += f"\n{MARKERS[bool(line.good)]} _{why}_"
    return text


def _drivers(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """One line per driver rather than tiles: a dozen drivers stay one short, phone-wide list."""
    if not lines:
        return []
    shown, hidden = shown_drivers(lines)
    rows = [_driver_row(line) for line in shown]
    if hidden:
        rows.append(f"_{more_drivers_text(hidden)}_")
    texts = _packed(f"*{DRIVERS_TITLE}*", rows)
    return [*(_section(text) for text in texts), _context(DRIVERS_NOTE)]


def _driver_row(line: Line) -> str:
    label = escape_mrkdwn(line_label(line))
    if line.value is None:
        return f"• {label}: _{escape_mrkdwn(line.note or NO_DATA)}_"
    why = notable_text(line)
    value = format_value(line)
    row = f"• {label}: {f'*{value}*' if why else value}  {change_text(line)}".rstrip()
    return f"{row}  {MARKERS[bool(line.good)]} _{why}_" if why else row


def _link(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    return [_section(f"*{LINK_TITLE}*\n{escape_mrkdwn(text)}")]


def _comments(digest: Digest) -> list[dict[str, Any]]:
    blocks = [_section(f"*{COMMENTS_TITLE}*")]
    blocks += [_section(_quote(comment, digest)) for comment in digest.comments[:MAX_COMMENTS]]
    if digest.comments_note:
        blocks.append(_context(escape_mrkdwn(sentence(digest.comments_note))))
    return blocks


def _quote(comment: CommentLine, digest: Digest) -> str:
    """A comment as a Slack quote: every line needs its own `>`, and the author's text is escaped so it
    can neither format, link nor ping (`<!channel>`)."""
    lines = escape_mrkdwn(clip(comment.text)).splitlines() or [""]
    quoted = "\n".join(f">{line}" for line in lines)
    return f"{quoted}\n_{escape_mrkdwn(comment_source(comment, digest))}_"


def _packed(title: str, rows: Sequence[str]) -> list[str]:
    """Rows in as few section texts as fit under Slack's 3,000 characters each."""
    texts, current = [], title
    for row in rows:
        row = clip(row, MAX_SECTION_CHARS // 2)
        if len(current) + 1 + len(row) > MAX_SECTION_CHARS:
            texts.append(current)
            current = row
        else:
            current = f"{current}\n{row}"
    texts.append(current)
    return texts


def _header(team: str, week: str) -> dict[str, Any]:
    # A long team name gives way, never the week it is about.
    text = clip(team, MAX_HEADER_CHARS - len(week)) + week
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str, fields: Sequence[str] = ()) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(field, MAX_FIELD_CHARS)} for field in fields]
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)}]}
