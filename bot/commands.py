"""Pure: the /pulse command's words, parsed. Tolerates extra spaces, capitals and smart quotes."""

from __future__ import annotations

from dataclasses import dataclass

SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})

HELP = """*Tandem's /pulse commands*
• `/pulse optout`: stop getting pulse DMs (you can come back any time)
• `/pulse optin`: get pulse DMs again
• `/pulse help`: this list"""


@dataclass(frozen=True)
class PulseCommand:
    name: str  # "help", "optout", "optin", or "unknown"
    args: tuple[str, ...] = ()
    typed: str = ""


def parse_pulse_command(text: str) -> PulseCommand:
    words = text.translate(SMART_QUOTES).split()
    if not words:
        return PulseCommand("help")
    first = words[0].lower().replace("-", "").replace("_", "")
    if first in ("help", "optout", "optin"):
        return PulseCommand(first, tuple(words[1:]), text.strip())
    return PulseCommand("unknown", tuple(words), text.strip())
