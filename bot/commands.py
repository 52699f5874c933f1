"""Pure: the /pulse command's words, parsed into one PulseCommand, or a CommandError naming the problem.

Tolerates extra spaces, capitals, smart quotes, and names typed without quotes where the rest of the
command makes them unambiguous. Slack escapes mentions in slash commands (manifest `should_escape`):
users arrive as `<@U123|name>`, channels as `<#C123|name>`, user groups as `<!subteam^S123|@name>` and
emails as `<mailto:a@example.com|a@example.com>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.command_help import topic_of
from bot.command_words import (
    CADENCES,
    CommandError,
    mention_kind,
    parse_clock,
    parse_number,
    parse_weekday,
    team_name,
    tokenize,
    unwrap_email,
    user_id_of,
)

MEMBER_ACTIONS = frozenset({"help", "optout", "optin", "privacy"})


@dataclass(frozen=True)
class PulseCommand:
    """What the caller asked for. `action` is a dotted name (`team.create`); other fields as it needs."""

    action: str
    team: str = ""
    new_name: str = ""
    users: tuple[str, ...] = ()
    channel: str = ""  # C… / G…
    usergroup: str = ""  # S…
    number: int | None = None
    cadence_weeks: int = 0
    weekday: int = 0  # ISO, Monday = 1
    minute: int = 0  # minutes after midnight, members' local time
    driver: str = ""
    question: str = ""  # question key
    text: str = ""
    email: str = ""
    confirmed: bool = False
    topic: str = ""  # help: the subcommand asked about

    @property
    def admin_only(self) -> bool:
        return self.action.split(".")[0] not in MEMBER_ACTIONS or self.action == "privacy.threshold"


def parse_pulse_command(text: str) -> PulseCommand:
    """Parse; raises CommandError (with the help topic to show) when the words do not make a command."""
    tokens = tokenize(text)
    if not tokens:
        return PulseCommand("help")
    head, rest = tokens[0].lower().replace("-", "").replace("_", ""), tokens[1:]
    if head in ("optout", "optin", "status", "admins", "privacy") and not rest:
        return PulseCommand(head)
    parse = _PARSERS.get(head)
    if parse is None:
        raise CommandError("", f"Tandem does not know `/pulse {text.strip()}`.")
    return parse(rest)


def _help(rest: list[str]) -> PulseCommand:
    return PulseCommand("help", topic=topic_of(" ".join(rest)) if rest else "")


def _page(action: str, rest: list[str]) -> PulseCommand:
    words = [w.lower() for w in rest]
    if words and words[0] == "page":
        words = words[1:]
    if len(words) > 1:
        raise CommandError(action, "Give one page number at most.")
    return PulseCommand(action, number=parse_number(words[0], 1, 10_000, "page", action) if words else 1)


def _team(rest: list[str]) -> PulseCommand:
    if not rest:
        raise CommandError("team", "Say what to do with the team.")
    verb, args = rest[0].lower(), rest[1:]
    parse = _TEAM_PARSERS.get(verb)
    if parse is None:
        raise CommandError("team", f"`{verb}` is not a team command.")
    return parse(args)


def _team_create(args: list[str]) -> PulseCommand:
    return PulseCommand("team.create", team=team_name(args, "team.create"))


def _team_rename(args: list[str]) -> PulseCommand:
    lowered = [a.lower() for a in args]
    if "to" in lowered:
        cut = lowered.index("to")
        old, new = args[:cut], args[cut + 1 :]
    elif len(args) == 2:
        old, new = args[:1], args[1:]
    else:
        raise CommandError("team.rename", "Put the new name after `to`, or quote names with spaces.")
    return PulseCommand("team.rename", team=team_name(old, "team.rename"), new_name=team_name(new, "team.rename"))


def _team_delete(args: list[str]) -> PulseCommand:
    confirmed = bool(args) and args[-1].lower() == "confirm"
    return PulseCommand(
        "team.delete", team=team_name(args[:-1] if confirmed else args, "team.delete"), confirmed=confirmed
    )


def _team_members(action: str) -> object:
    def parse(args: list[str]) -> PulseCommand:
        name_words, mentions = _split_at_mentions(args)
        users = tuple(user_id_of(m, action) for m in mentions)
        return PulseCommand(action, team=team_name(name_words, action), users=users)

    return parse


def _team_link(args: list[str]) -> PulseCommand:
    name_words, mentions = _split_at_mentions(args)
    if len(mentions) != 1:
        raise CommandError("team.link", "Name one user group (@group) or one channel (#channel).")
    kind, target = mention_kind(mentions[0])
    if kind not in ("usergroup", "channel"):
        raise CommandError("team.link", f"`{mentions[0]}` is not a user group or a channel.")
    name = team_name(name_words, "team.link")
    if kind == "channel":
        return PulseCommand("team.link", team=name, channel=target)
    return PulseCommand("team.link", team=name, usergroup=target)


def _team_unlink(args: list[str]) -> PulseCommand:
    return PulseCommand("team.unlink", team=team_name(args, "team.unlink"))


def _team_show(args: list[str]) -> PulseCommand:
    return PulseCommand("team.show", team=team_name(args, "team.show"))


def _team_manager(args: list[str]) -> PulseCommand:
    name_words, mentions = _split_at_mentions(args)
    if len(mentions) != 1:
        raise CommandError("team.manager", "Name exactly one manager, as @someone.")
    return PulseCommand(
        "team.manager", team=team_name(name_words, "team.manager"), users=(user_id_of(mentions[0], "team.manager"),)
    )


def _team_channel(args: list[str]) -> PulseCommand:
    name_words, mentions = _split_at_mentions(args)
    kind, target = mention_kind(mentions[0]) if len(mentions) == 1 else ("", "")
    if kind != "channel":
        raise CommandError("team.channel", "Name one channel, as #channel.")
    return PulseCommand("team.channel", team=team_name(name_words, "team.channel"), channel=target)


def _team_questions(args: list[str]) -> PulseCommand:
    if len(args) < 2:
        raise CommandError("team.questions", "Give the team and how many questions each pulse asks (1-5).")
    number = parse_number(args[-1], 1, 5, "questions per pulse", "team.questions")
    return PulseCommand("team.questions", team=team_name(args[:-1], "team.questions"), number=number)


def _team_digest(args: list[str]) -> PulseCommand:
    if len(args) < 3:
        raise CommandError("team.digest", "Give the team, a day and a time, like `Support mon 09:00`.")
    return PulseCommand(
        "team.digest",
        team=team_name(args[:-2], "team.digest"),
        weekday=parse_weekday(args[-2], "team.digest"),
        minute=parse_clock(args[-1], "team.digest"),
    )


def _schedule(args: list[str]) -> PulseCommand:
    lowered = [a.lower() for a in args]
    cut = next((i for i, word in enumerate(lowered) if word in CADENCES), None)
    if cut is None:
        if args and len(args) <= 3 and not any(":" in a for a in args):
            return PulseCommand("schedule.form", team=team_name(args, "schedule"))
        raise CommandError("schedule", "Say how often: weekly, biweekly or monthly.")
    team = team_name(args[:cut], "schedule")
    when = args[cut + 1 :]
    if len(when) != 2:
        raise CommandError("schedule", "After how often, give a day and a time, like `tue 10:00`.")
    return PulseCommand(
        "schedule",
        team=team,
        cadence_weeks=CADENCES[lowered[cut]],
        weekday=parse_weekday(when[0], "schedule"),
        minute=parse_clock(when[1], "schedule"),
    )


def _pause(action: str) -> object:
    def parse(args: list[str]) -> PulseCommand:
        return PulseCommand(action, team=team_name(args, action))

    return parse


def _questions(rest: list[str]) -> PulseCommand:
    return PulseCommand("questions", driver=" ".join(rest).lower())


def _question(rest: list[str]) -> PulseCommand:
    verb, args = (rest[0].lower(), rest[1:]) if rest else ("", [])
    if verb == "add":
        if len(args) < 2:
            raise CommandError("question.add", "Give a driver and the question's text.")
        return PulseCommand("question.add", driver=args[0].lower(), text=_question_text(args[1:], "question.add"))
    if verb == "edit":
        if len(args) < 2:
            raise CommandError("question.edit", "Give the question's id and its new text.")
        return PulseCommand("question.edit", question=args[0].lower(), text=_question_text(args[1:], "question.edit"))
    if verb == "retire":
        if len(args) != 1:
            raise CommandError("question.retire", "Give one question id, as `/pulse questions` lists them.")
        return PulseCommand("question.retire", question=args[0].lower())
    raise CommandError("question", "Say add, edit or retire.")


def _question_text(words: list[str], topic: str) -> str:
    text = re.sub(r"\s+", " ", " ".join(words)).strip()
    if not 10 <= len(text) <= 200:
        raise CommandError(topic, f"A question needs 10 to 200 characters; this one has {len(text)}.")
    if re.search(r"[<>*`]", text):
        raise CommandError(topic, "Leave out <, >, * and ` in a question: Slack would format them.")
    return text


def _privacy(rest: list[str]) -> PulseCommand:
    if not rest or rest[0].lower() != "threshold" or len(rest) < 2:
        raise CommandError("privacy", "To change it: `/pulse privacy threshold N`, with N from 3 to 10.")
    k = parse_number(rest[1], 3, 10, "the threshold", "privacy")
    return PulseCommand("privacy.threshold", number=k, team=team_name(rest[2:], "privacy") if rest[2:] else "")


def _helpdesk(rest: list[str]) -> PulseCommand:
    verb, args = (rest[0].lower(), rest[1:]) if rest else ("", [])
    if verb == "map":
        if len(args) != 2:
            raise CommandError("helpdesk.map", "Give the agent's email and their Slack user, as @someone.")
        email = unwrap_email(args[0], "helpdesk.map")
        return PulseCommand("helpdesk.map", email=email, users=(user_id_of(args[1], "helpdesk.map"),))
    if verb == "group":
        if len(args) < 2:
            raise CommandError("helpdesk.group", 'Give the helpdesk group (quoted: "Tier 1") and the team.')
        group = re.sub(r"\s+", " ", args[0]).strip()
        if not 1 <= len(group) <= 255:
            raise CommandError("helpdesk.group", "A helpdesk group name has 1 to 255 characters.")
        return PulseCommand("helpdesk.group", text=group, team=team_name(args[1:], "helpdesk.group"))
    if not rest:
        return PulseCommand("helpdesk")
    raise CommandError("helpdesk", "Say map or group.")


def _admin(rest: list[str]) -> PulseCommand:
    verb, args = (rest[0].lower(), rest[1:]) if rest else ("", [])
    if verb not in ("add", "remove") or len(args) != 1:
        raise CommandError("admin", "Say add or remove, and one person, as @someone.")
    return PulseCommand(f"admin.{verb}", users=(user_id_of(args[0], "admin"),))


def _split_at_mentions(args: list[str]) -> tuple[list[str], list[str]]:
    """Words before the first mention (the team's name) and the mentions after it."""
    first = next((i for i, word in enumerate(args) if word.startswith(("<", "@", "#"))), len(args))
    return args[:first], args[first:]


_TEAM_PARSERS = {
    "create": _team_create,
    "rename": _team_rename,
    "delete": _team_delete,
    "add": _team_members("team.add"),
    "remove": _team_members("team.remove"),
    "link": _team_link,
    "unlink": _team_unlink,
    "show": _team_show,
    "manager": _team_manager,
    "channel": _team_channel,
    "questions": _team_questions,
    "digest": _team_digest,
}

_PARSERS = {
    "help": _help,
    "status": lambda rest: PulseCommand("status"),
    "teams": lambda rest: _page("teams", rest),
    "audit": lambda rest: _page("audit", rest),
    "team": _team,
    "schedule": _schedule,
    "pause": _pause("pause"),
    "resume": _pause("resume"),
    "questions": _questions,
    "question": _question,
    "privacy": _privacy,
    "helpdesk": _helpdesk,
    "admin": _admin,
}
