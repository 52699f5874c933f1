"""Pure: a self-contained HTML page showing digests roughly as Slack shows them, for reviewing the
wording and layout without a workspace. Messages in (as bot/blocks/digest.py builds them), one page out.

It renders the blocks Tandem uses (header, section text and fields, context, divider, image) and the
mrkdwn in them. Everything that is not markup Tandem produced is HTML-escaped: comments are user text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

APP_NAME = "Tandem"
# Slack's link syntax: <https://x|label>, <https://x>, <@U123>, <!here>; in text, a bare < is always &lt;.
LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
CODE = re.compile(r"`([^`\n]+)`")
BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")
SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)

STYLE = """
body{margin:0;background:#f8f8f8;color:#1d1c1d;font:15px/1.46 -apple-system,BlinkMacSystemFont,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif}
main{max-width:760px;margin:0 auto;padding:24px 16px}
h1{font-size:22px;margin:0 0 12px}
nav{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;margin-bottom:24px}
nav ol{margin:4px 0 0;padding-left:22px}
a{color:#1264a3}
.message{display:flex;gap:10px;background:#fff;border:1px solid #ddd;border-radius:8px;padding:16px;
margin-bottom:28px}
.avatar{flex:0 0 36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;font-weight:700;
display:flex;align-items:center;justify-content:center}
.body{flex:1;min-width:0}
.sender{font-weight:900}
.badge{font-size:10px;font-weight:700;color:#616061;background:#e8e8e8;border-radius:3px;padding:1px 4px;
margin-left:4px;vertical-align:2px}
.team{color:#616061;font-size:13px;margin-left:6px}
.header{font-size:18px;font-weight:900;margin:6px 0}
.section{margin:6px 0}
.section,.context{white-space:pre-wrap;overflow-wrap:anywhere}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;margin-top:6px}
.context{color:#616061;font-size:13px;margin:6px 0}
hr{border:0;border-top:1px solid #e8e8e8;margin:12px 0}
blockquote{margin:4px 0;padding-left:12px;border-left:4px solid #ddd}
code{font:12px Menlo,Consolas,monospace;background:#f6f6f6;border:1px solid #e0e0e0;border-radius:3px;
padding:1px 3px;color:#e01e5a}
img.chart{max-width:100%;border:1px solid #e8e8e8;border-radius:6px;margin-top:8px}
.unknown{color:#616061;font-style:italic}
@media (max-width:480px){.fields{grid-template-columns:1fr}}
"""


def preview_page(title: str, digests: Sequence[tuple[str, dict[str, Any], str | None]]) -> str:
    """One HTML page: a table of contents, then each (team, message, chart path or None) as a Slack message."""
    toc = "".join(f'<li><a href="#digest-{i}">{_esc(team)}</a></li>' for i, (team, _, _) in enumerate(digests, 1))
    messages = "".join(_message(i, team, message, chart) for i, (team, message, chart) in enumerate(digests, 1))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_esc(title)}</h1>\n"
        f'<nav aria-label="Teams"><strong>Teams</strong><ol>{toc}</ol></nav>\n'
        f"{messages}</main>\n</body>\n</html>\n"
    )


def _message(number: int, team: str, message: dict[str, Any], chart: str | None) -> str:
    blocks = message.get("blocks") or []
    # Without blocks Slack shows the fallback text, so the preview does too.
    body = "".join(_block(block) for block in blocks) or f'<div class="section">{mrkdwn(message.get("text", ""))}</div>'
    image = ""
    if chart:
        alt = f"Engagement and CSAT over recent weeks, {team}"
        image = f'<img class="chart" src="{_esc(chart)}" alt="{_esc(alt)}">'
    return (
        f'<article class="message" id="digest-{number}">'
        f'<div class="avatar" aria-hidden="true">{APP_NAME[0]}</div>'
        f'<div class="body"><div><span class="sender">{APP_NAME}</span><span class="badge">APP</span>'
        f'<span class="team">{_esc(team)}</span></div>{body}{image}</div></article>\n'
    )


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{_text(block.get("text"))}</div>'
    if kind == "section":
        text = _text(block.get("text")) if block.get("text") else ""
        fields = "".join(f"<div>{_text(field)}</div>" for field in block.get("fields") or [])
        grid = f'<div class="fields">{fields}</div>' if fields else ""
        return f'<div class="section">{text}{grid}</div>'
    if kind == "context":
        parts = [_element(element) for element in block.get("elements") or []]
        return f'<div class="context">{" ".join(parts)}</div>'
    if kind == "divider":
        return "<hr>"
    if kind == "image":
        return _image(block)
    return f'<div class="unknown">[{_esc(str(kind))} block]</div>'


def _element(element: dict[str, Any]) -> str:
    if element.get("type") == "image":
        return _image(element)
    return _text(element)


def _image(block: dict[str, Any]) -> str:
    url = str(block.get("image_url") or "")
    alt = str(block.get("alt_text") or "")
    if not SAFE_URL.match(url):
        # Uploaded files (slack_file) have no URL to show here.
        return f'<div class="unknown">[image: {_esc(alt)}]</div>'
    return f'<img class="chart" src="{_esc(url)}" alt="{_esc(alt)}">'


def _text(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")))
    return _esc(str(obj.get("text", ""))).replace("\n", "<br>")


def mrkdwn(text: str) -> str:
    """Slack mrkdwn as HTML: *bold*, _italic_, ~strike~, `code`, > quotes, <url|label> links, newlines.

    Slack text arrives with &, < and > already written as entities; they are decoded and re-escaped for
    HTML, so only markup produced here reaches the page.
    """
    out, quote = [], []
    for line in text.split("\n"):
        if line.startswith(">"):
            quote.append(_inline(line[1:].removeprefix(" ")))
            continue
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote = []
        out.append(_inline(line) + "<br>")
    if quote:
        out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
    return "".join(out).removesuffix("<br>")


def _inline(line: str) -> str:
    parts, last = [], 0
    for found in LINK.finditer(line):
        parts.append(_formatted(line[last : found.start()]))
        parts.append(_link(found.group(1), found.group(2)))
        last = found.end()
    parts.append(_formatted(line[last:]))
    return "".join(parts)


def _link(target: str, label: str | None) -> str:
    if target.startswith(("@", "#")):
        return f"<b>{_esc(_slack_unescape(label or target))}</b>"
    if target.startswith("!"):
        return f"<b>@{_esc(target[1:].split('^')[0])}</b>"
    url = _slack_unescape(target)
    shown = _formatted(label) if label else _esc(url)
    if not SAFE_URL.match(url):
        return shown
    return f'<a href="{_esc(url)}">{shown}</a>'


def _formatted(text: str) -> str:
    """Plain Slack text with inline formatting; code spans are left unformatted inside."""
    pieces, last = [], 0
    for found in CODE.finditer(text):
        pieces.append(_styled(text[last : found.start()]))
        pieces.append(f"<code>{_esc(_slack_unescape(found.group(1)))}</code>")
        last = found.end()
    pieces.append(_styled(text[last:]))
    return "".join(pieces)


def _styled(text: str) -> str:
    # Escaping first is safe: HTML entities hold none of * _ ~, so formatting only ever wraps escaped text.
    escaped = _esc(_slack_unescape(text))
    escaped = BOLD.sub(r"<b>\1</b>", escaped)
    escaped = ITALIC.sub(r"<i>\1</i>", escaped)
    return STRIKE.sub(r"<s>\1</s>", escaped)


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
