"""Pure: what each /pulse subcommand looks like, and the help a caller gets (only what they may do)."""

from __future__ import annotations

# topic -> (usage, what it does). Topics are the parser's actions; a group ("team") covers its dotted ones.
MEMBER_TOPICS: dict[str, tuple[str, str]] = {
    "optout": ("/pulse optout", "stop getting pulse DMs (come back any time)"),
    "optin": ("/pulse optin", "get pulse DMs again"),
    "privacy": ("/pulse privacy", "who sees what, and how many answers a result needs"),
    "help": ("/pulse help [command]", "this list, or the help for one command"),
}
ADMIN_TOPICS: dict[str, tuple[str, str]] = {
    "status": ("/pulse status", "next rounds, last participation, helpdesk mapping, and what needs fixing"),
    "teams": ("/pulse teams [page N]", "every team with its size, schedule and channel"),
    "team.create": ("/pulse team create NAME", "a new team (names with spaces are fine)"),
    "team.show": ("/pulse team show NAME", "one team's settings and members"),
    "team.rename": ("/pulse team rename NAME to NEW NAME", "rename a team"),
    "team.delete": ("/pulse team delete NAME", "delete a team and its results (asks you to confirm)"),
    "team.add": ("/pulse team add NAME @person …", "add people (name no one to pick them in a form)"),
    "team.remove": ("/pulse team remove NAME @person …", "remove people (name no one to pick them in a form)"),
    "team.link": ("/pulse team link NAME @usergroup|#channel", "membership follows a user group or a channel"),
    "team.unlink": ("/pulse team unlink NAME", "stop following; the current members stay"),
    "team.manager": ("/pulse team manager NAME @person", "who manages the team (sees its digest on their Home)"),
    "team.channel": ("/pulse team channel NAME #channel", "where the team's digest and alerts go"),
    "team.questions": ("/pulse team questions NAME N", "questions per pulse for the team, 1 to 5"),
    "team.digest": ("/pulse team digest NAME DAY HH:MM", "when last week's digest is posted (default mon 09:00)"),
    "schedule": (
        "/pulse schedule NAME weekly|biweekly|monthly DAY HH:MM",
        "when the team is asked, in each member's local time (`/pulse schedule NAME` opens a form)",
    ),
    "pause": ("/pulse pause NAME", "stop the team's pulses for now"),
    "resume": ("/pulse resume NAME", "start them again"),
    "questions": ("/pulse questions [DRIVER]", "the questions by driver, with their ids"),
    "question.add": ('/pulse question add DRIVER "text"', "a new question for a driver"),
    "question.edit": ('/pulse question edit ID "text"', "new wording (a new version; old answers keep theirs)"),
    "question.retire": ("/pulse question retire ID", "stop asking a question"),
    "privacy.threshold": ("/pulse privacy threshold N [TEAM]", "answers a result needs, 3 to 10 (all teams, or one)"),
    "helpdesk": ("/pulse helpdesk", "the helpdesk agents and groups mapped to teams"),
    "helpdesk.map": ("/pulse helpdesk map agent@example.com @person", "whose tickets an agent's are"),
    "helpdesk.group": ('/pulse helpdesk group "Group name" NAME', "a helpdesk group's tickets count for a team"),
    "admin.add": ("/pulse admin add @person", "make someone a Tandem admin"),
    "admin.remove": ("/pulse admin remove @person", "take it back (workspace admins always are)"),
    "admins": ("/pulse admins", "who the Tandem admins are"),
    "audit": ("/pulse audit [page N]", "who changed what, and when"),
}
ALL_TOPICS = {**MEMBER_TOPICS, **ADMIN_TOPICS}


def topic_of(words: str) -> str:
    """`team create` -> `team.create`; an unknown topic gives "" (the full list)."""
    parts = words.lower().replace("/pulse", "").split()
    for size in (2, 1):
        candidate = ".".join(parts[:size])
        if candidate in ALL_TOPICS or any(t.startswith(candidate + ".") for t in ALL_TOPICS):
            return candidate
    return ""


def help_text(topic: str, is_admin: bool) -> str:
    """The help for `topic` (a command or a group of them), or everything the caller may do."""
    topics = ALL_TOPICS if is_admin else MEMBER_TOPICS
    chosen = {t: v for t, v in topics.items() if topic and (t == topic or t.startswith(topic + "."))}
    if topic == "privacy" and is_admin:
        chosen["privacy.threshold"] = ADMIN_TOPICS["privacy.threshold"]
    if chosen:
        return "\n".join(_line(usage, what) for usage, what in chosen.values())
    lines = ["*Tandem's /pulse commands*", *(_line(usage, what) for usage, what in topics.values())]
    if not is_admin:
        lines.append("_Tandem admins have more commands: teams, schedules, questions and privacy settings._")
    return "\n".join(lines)


def _line(usage: str, what: str) -> str:
    return f"• `{usage}`: {what}"
