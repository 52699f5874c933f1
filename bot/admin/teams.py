"""Use cases: /pulse team … (create, rename, delete, members, links, manager, digest channel, size of a pulse)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from bot.admin.context import AdminError, CommandContext, Reply, channel_link, digest_words, mention, schedule_words
from bot.admin.forms import members_form
from bot.commands import PulseCommand
from jobs.membership import LinkSourceMissing, MembershipUnavailable
from jobs.team_links import CHANNEL, USERGROUP, sync_linked_team
from storage.db import SessionFactory
from storage.models import PulseRound, Team
from storage.team_links import remove_members_from_teams
from storage.teams import add_team_members, create_team, team_member_slack_ids, team_named
from storage.workspace import default_threshold

SHOWN_MEMBERS = 30


def create(ctx: CommandContext, command: PulseCommand) -> Reply:
    if team_named(ctx.session, command.team) is not None:
        raise AdminError("team.create", f"A team called `{command.team}` already exists: pick another name.")
    team = create_team(ctx.session, command.team, ctx.now, anonymity_threshold=default_threshold(ctx.session))
    ctx.audit("team.create", f"created team {team.name}")
    return Reply(
        f"Created team *{team.name}*. Next:\n"
        f"• `/pulse team add {team.name} @person …` (or `/pulse team link {team.name} @group|#channel`)\n"
        f"• `/pulse team channel {team.name} #channel` for its digest\n"
        f"• `/pulse schedule {team.name} weekly tue 10:00` (that is the default until you change it)"
    )


def rename(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.rename")
    clash = team_named(ctx.session, command.new_name)
    if clash is not None and clash.id != team.id:
        raise AdminError("team.rename", f"A team called `{command.new_name}` already exists.")
    old, team.name = team.name, command.new_name
    ctx.audit("team.rename", f"renamed team {old} to {team.name}")
    return Reply(f"Renamed *{old}* to *{team.name}*.")


def delete(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.delete")
    rounds = ctx.session.scalar(select(func.count()).select_from(PulseRound).where(PulseRound.team_id == team.id))
    if not command.confirmed:
        return Reply(
            f"Deleting *{team.name}* removes the team, its {rounds or 0} pulse rounds and their anonymous results "
            f"for good. To go ahead: `/pulse team delete {team.name} confirm`",
            refresh_home=False,
        )
    ctx.session.delete(team)
    ctx.audit("team.delete", f"deleted team {team.name} and its {rounds or 0} rounds")
    return Reply(f"Deleted team *{team.name}* and its {rounds or 0} rounds.")


def add_members(ctx: CommandContext, command: PulseCommand) -> Reply:
    return _change_members(ctx, command, adding=True)


def remove_members(ctx: CommandContext, command: PulseCommand) -> Reply:
    return _change_members(ctx, command, adding=False)


def _change_members(ctx: CommandContext, command: PulseCommand, adding: bool) -> Reply:
    topic = command.action
    team = ctx.team(command.team, topic)
    if team.source_kind != "manual":
        raise AdminError(
            topic,
            f"*{team.name}* follows {_source(team)}, so its members come from there. "
            f"`/pulse team unlink {team.name}` first to manage them by hand.",
        )
    if not command.users:
        return Reply("", modal=members_form(team, adding, team_member_slack_ids(ctx.session, team.id)))
    return Reply(change_members(ctx, team, command.users, adding))


def change_members(ctx: CommandContext, team: Team, users: tuple[str, ...], adding: bool) -> str:
    """Add or remove people (the command and the form share this); returns what happened, in words."""
    found, refused = ctx.members_of(users)
    ids = list(found.values())
    if adding:
        add_team_members(ctx.session, team.id, ids)
    else:
        remove_members_from_teams(ctx.session, [team.id], ids)
    verb = "added to" if adding else "removed from"
    ctx.audit("team.add" if adding else "team.remove", f"{verb} {team.name}: {' '.join(found)}"[:500])
    lines = [f"{len(found)} {verb} *{team.name}*: {' '.join(mention(u) for u in found)}" if found else ""]
    if refused:
        lines.append(f"Not people Tandem can ask (bots, deactivated or unknown): {' '.join(map(mention, refused))}")
    if adding and found:
        lines.append("People added while a round is open get the team's next pulse.")
    return "\n".join(line for line in lines if line)


def link(ctx: CommandContext, command: PulseCommand, factory: SessionFactory) -> Reply:
    team = ctx.team(command.team, "team.link")
    team.source_kind, team.source_id = (CHANNEL, command.channel) if command.channel else (USERGROUP, command.usergroup)
    team.source_synced_at = None
    ctx.audit("team.link", f"team {team.name} follows {team.source_kind} {team.source_id}")
    team_id, now, slack = team.id, ctx.now, ctx.slack

    def sync(say: Callable[[str], None]) -> None:
        try:
            report = sync_linked_team(factory, slack, team_id, now)
        except (LinkSourceMissing, MembershipUnavailable) as problem:
            say(f"Could not read the members of {_source_of(command)}: {problem}. The daily sync tries again.")
            return
        source = _source_of(command)
        say(f"*{report.team}* now has the members of {source}: {report.added} added, {report.removed} removed.")

    return Reply(
        f"*{team.name}* now follows {_source_of(command)}: its members come from there, checked daily. Syncing now…",
        follow_up=sync,
    )


def unlink(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.unlink")
    if team.source_kind == "manual":
        return Reply(f"*{team.name}* does not follow a group or channel.", refresh_home=False)
    was = _source(team)
    team.source_kind, team.source_id = "manual", None
    ctx.audit("team.unlink", f"team {team.name} no longer follows {was}")
    return Reply(f"*{team.name}* no longer follows {was}; its current members stay, and you manage them by hand.")


def manager(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.manager")
    _found, refused = ctx.members_of(command.users)
    if refused:
        raise AdminError("team.manager", f"{mention(refused[0])} cannot manage a team (a bot, or not in Slack).")
    team.manager_user_id = command.users[0]
    ctx.audit("team.manager", f"manager of {team.name} is {team.manager_user_id}")
    return Reply(f"{mention(team.manager_user_id)} manages *{team.name}* and sees its results on their Tandem Home.")


def channel(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.channel")
    check = ctx.channel_check or ctx.slack.channel_check(command.channel)
    team.channel_id, team.channel_ok = command.channel, check.ok
    ctx.audit("team.channel", f"digest channel of {team.name} is {command.channel}")
    if check.ok:
        return Reply(f"*{team.name}*'s digest and alerts go to {channel_link(command.channel)}.")
    return Reply(
        f"Saved {channel_link(command.channel)} for *{team.name}*, but Tandem cannot post there yet: {check.problem}"
    )


def questions_per_pulse(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.questions")
    team.questions_per_pulse = command.number or team.questions_per_pulse
    ctx.audit("team.questions", f"{team.name} asks {team.questions_per_pulse} questions per pulse")
    return Reply(f"*{team.name}*'s pulses ask {team.questions_per_pulse} questions, from the next round on.")


def digest_time(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.digest")
    team.digest_weekday, team.digest_minute = command.weekday, command.minute
    ctx.audit("team.digest", f"{team.name}'s digest: {digest_words(team)}")
    where = channel_link(team.channel_id) if team.channel_id else "its channel (none yet: `/pulse team channel`)"
    return Reply(
        f"*{team.name}*'s digest of each past week goes to {where} {digest_words(team)}, in the manager's "
        "time zone (or the one most of the team is in), from the next one on."
    )


def show(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "team.show")
    members = team_member_slack_ids(ctx.session, team.id)
    shown = " ".join(mention(u) for u in members[:SHOWN_MEMBERS])
    more = f" and {len(members) - SHOWN_MEMBERS} more" if len(members) > SHOWN_MEMBERS else ""
    lines = [
        f"*{team.name}*{' (paused)' if team.paused else ''}: {len(members)} members{_following(team)}",
        f"• Schedule: {schedule_words(team)}; {team.questions_per_pulse} questions per pulse",
        f"• Manager: {mention(team.manager_user_id)} · Digest channel: {channel_link(team.channel_id)}, "
        f"{digest_words(team)}",
        f"• Results need {team.anonymity_threshold} answers",
        f"• Members: {shown or 'none yet'}{more}",
    ]
    return Reply("\n".join(lines), refresh_home=False)


def _following(team: Team) -> str:
    return f" (following {_source(team)})" if team.source_kind != "manual" else ""


def _source(team: Team) -> str:
    return f"<#{team.source_id}>" if team.source_kind == CHANNEL else f"<!subteam^{team.source_id}>"


def _source_of(command: PulseCommand) -> str:
    return f"<#{command.channel}>" if command.channel else f"<!subteam^{command.usergroup}>"
