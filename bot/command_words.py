"""Pure: the words of a /pulse command: tokens, mentions, numbers, days, times and team names."""

from __future__ import annotations

import re

SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
CADENCES = {"weekly": 1, "biweekly": 2, "fortnightly": 2, "monthly": 4}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TEAM_NAME_MAX = 80
# Letters and digits of any script, spaces, and punctuation that reads fine in Slack's mrkdwn.
_TEAM_NAME = re.compile(r"^[\w .,&'()/+-]+$")
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
_USERGROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+$")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


class CommandError(ValueError):
    """The words do not make a command: `problem` says why, `topic` is the help to show with it."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(problem)
        self.topic = topic
        self.problem = problem


def tokenize(text: str) -> list[str]:
    """Split on spaces; "double quotes" keep words together (smart quotes count as quotes)."""
    normal = text.translate(SMART_QUOTES).replace("\u00a0", " ")
    if normal.count('"') % 2:
        raise CommandError("", 'A quote is not closed: put names with spaces in "double quotes".')
    tokens = []
    for quoted, bare in re.findall(r'"([^"]*)"|(\S+)', normal):
        tokens.append(quoted.strip() if quoted or not bare else bare)
    return [t for t in tokens if t]


def mention_kind(token: str) -> tuple[str, str]:
    """("user" | "channel" | "usergroup", id), or ("", token) for anything else."""
    for kind, pattern in (("user", _USER), ("channel", _CHANNEL), ("usergroup", _USERGROUP)):
        match = pattern.match(token)
        if match:
            return kind, match.group(1)
    return "", token


def user_id_of(token: str, topic: str) -> str:
    kind, value = mention_kind(token)
    if kind == "user":
        return value
    if token.startswith("@"):
        raise CommandError(topic, f"Slack did not recognise `{token}`: pick the person from the list as you type @.")
    raise CommandError(topic, f"`{token}` is not a person: mention them as @someone.")


def unwrap_email(token: str, topic: str) -> str:
    match = re.match(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$", token)
    email = (match.group(1) if match else token).strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise CommandError(topic, f"`{token}` is not an email address.")
    return email


def parse_number(word: str, low: int, high: int, what: str, topic: str) -> int:
    if not re.fullmatch(r"\d{1,6}", word):
        raise CommandError(topic, f"{what.capitalize()} must be a whole number from {low} to {high}, not `{word}`.")
    number = int(word)
    if not low <= number <= high:
        raise CommandError(topic, f"{what.capitalize()} must be from {low} to {high}; {number} is out of range.")
    return number


def parse_weekday(word: str, topic: str) -> int:
    lowered = word.lower().rstrip(".,")
    if len(lowered) >= 2:
        for index, name in enumerate(WEEKDAYS, start=1):
            if name.startswith(lowered):
                return index
    raise CommandError(topic, f"`{word}` is not a day of the week (mon, tue, … sun).")


def parse_clock(word: str, topic: str) -> int:
    """Minutes after midnight from `10:00`, `9:30`, `14:00`, `9am` or `2:30pm`."""
    match = _CLOCK.match(word.lower())
    if match:
        hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        if half and 1 <= hour <= 12:
            hour = hour % 12 + (12 if half == "pm" else 0)
        if (half or match.group(2)) and hour < 24 and minute < 60:
            return hour * 60 + minute
    raise CommandError(topic, f"`{word}` is not a time of day: use 24-hour HH:MM, like 10:00 or 14:30.")


def team_name(words: list[str], topic: str) -> str:
    name = re.sub(r"\s+", " ", " ".join(words)).strip()
    if not name:
        raise CommandError(topic, "Give the team's name.")
    if len(name) > TEAM_NAME_MAX:
        raise CommandError(topic, f"A team name has at most {TEAM_NAME_MAX} characters; this one has {len(name)}.")
    if not _TEAM_NAME.match(name) or name.startswith(("@", "#", "<")):
        raise CommandError(
            topic,
            f"`{name}` has characters a team name cannot have: use letters, digits, spaces and - _ . , & ' ( ) / +.",
        )
    return name
