"""/pulse: parse, check who may, run the use case in one transaction, answer ephemerally within Slack's 3 s.

Slow work (syncing a linked team, refreshing the App Home) runs after the answer, in the background.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.admin import overview, settings, teams
from bot.admin.context import AdminError, CommandContext, Reply
from bot.admin.forms import MEMBERS_CALLBACK, SCHEDULE_CALLBACK, ScheduleChoice, read_members_form, read_schedule_form
from bot.command_help import help_text
from bot.command_words import CommandError
from bot.commands import PulseCommand, parse_pulse_command
from bot.home import publish_home
from bot.listeners.after_ack import after_ack, logged
from jobs.members import member_from_slack
from jobs.membership import MembershipUnavailable, SlackMembership, learn_members
from jobs.question_bank import QuestionBank
from storage.db import SessionFactory, transaction
from storage.members import is_tandem_admin, member_named, record_opt_choice, upsert_members
from storage.models import Team

log = logging.getLogger(__name__)

Handler = Callable[[CommandContext, PulseCommand], Reply]
OPTED_OUT = (
    "You are opted out: Tandem will not send you pulses. Answers you already gave stay in your team's "
    "anonymous results. `/pulse optin` brings you back."
)
OPTED_IN = "Welcome back: you will get the next pulse of your team. `/pulse optout` stops them again."
NOT_ADMIN = (
    "Only Tandem admins can do that. Workspace admins and owners are Tandem admins, and they can add you "
    "with `/pulse admin add @you`."
)
# Commands that only read (the others may write, and take the database's write lock on SQLite).
READ_ONLY = frozenset({"status", "teams", "audit", "admins", "helpdesk", "team.show", "privacy", "schedule.form"})
FAILED = "Something went wrong on Tandem's side and nothing was changed. Please try again in a minute."


def handlers(factory: SessionFactory, bank: QuestionBank) -> dict[str, Handler]:
    """Every admin command's use case, in one table."""
    return {
        "status": overview.status,
        "teams": overview.teams,
        "audit": overview.audit,
        "admins": overview.admins,
        "admin.add": overview.add_admin,
        "admin.remove": overview.remove_admin,
        "helpdesk": overview.helpdesk,
        "helpdesk.map": overview.map_helpdesk_agent,
        "helpdesk.group": overview.map_helpdesk_group,
        "team.create": teams.create,
        "team.rename": teams.rename,
        "team.delete": teams.delete,
        "team.add": teams.add_members,
        "team.remove": teams.remove_members,
        "team.link": partial(teams.link, factory=factory),
        "team.unlink": teams.unlink,
        "team.show": teams.show,
        "team.manager": teams.manager,
        "team.channel": teams.channel,
        "team.questions": teams.questions_per_pulse,
        "team.digest": teams.digest_time,
        "schedule": settings.schedule,
        "schedule.form": settings.schedule_modal,
        "pause": settings.pause,
        "resume": settings.resume,
        "questions": partial(settings.list_questions, bank=bank),
        "question.add": partial(settings.add_question, bank=bank),
        "question.edit": partial(settings.edit_question, bank=bank),
        "question.retire": partial(settings.retire, bank=bank),
        "privacy": settings.privacy,
        "privacy.threshold": settings.set_threshold,
    }


def register(
    app: App,
    factory: SessionFactory,
    clock: Callable[[], datetime],
    bank: QuestionBank,
    background: Executor,
    slack: SlackMembership,
) -> None:
    table = handlers(factory, bank)

    def on_pulse(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        actor = str(command["user_id"])
        try:
            parsed = parse_pulse_command(str(command.get("text") or ""))
        except CommandError as error:
            admin = _admit(factory, slack, actor, clock())
            ack(response_type="ephemeral", text=_with_help(error.problem, error.topic, admin))
            return
        if parsed.action in ("optout", "optin"):
            with transaction(factory) as session:
                name = str(command.get("user_name") or "")
                record_opt_choice(session, actor, name, parsed.action == "optout", clock())
            ack(response_type="ephemeral", text=OPTED_OUT if parsed.action == "optout" else OPTED_IN)
            after_ack(background, publish_home, client, factory, actor)
            return
        if parsed.action == "help":
            ack(response_type="ephemeral", text=help_text(parsed.topic, _admit(factory, slack, actor, clock())))
            return
        if parsed.admin_only and not _admit(factory, slack, actor, clock()):
            ack(response_type="ephemeral", text=NOT_ADMIN)
            return
        reply = _run(table[parsed.action], factory, slack, actor, clock(), parsed)
        if reply.modal is not None:
            ack()
            # Now, not on the pool: the trigger id expires 3 s after the command. Slack's answer waits for it.
            logged(client.views_open, trigger_id=command["trigger_id"], view=reply.modal)
            return
        ack(response_type="ephemeral", text=reply.text)
        _after(reply, background, client, factory, actor, lambda text: respond(text=text, response_type="ephemeral"))

    def on_members_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        actor = body["user"]["id"]
        team_id, adding, users = read_members_form(view)
        if not users:
            ack(response_action="errors", errors={"members": "Pick at least one person."})
            return
        learn_members(factory, slack, users, clock())
        reply = _in_form(
            factory, slack, actor, clock(), team_id, lambda ctx, team: teams.change_members(ctx, team, users, adding)
        )
        _answer_form(ack, reply, "members", client, background, factory, actor)

    def on_schedule_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        actor = body["user"]["id"]

        def apply(ctx: CommandContext, team: Team) -> str:
            _, choice = read_schedule_form(view, team.working_days)
            if not isinstance(choice, ScheduleChoice):
                raise _FormErrors(choice)
            return settings.apply_schedule(ctx, team, choice)

        team_id, _ = read_schedule_form(view, "1234567")
        try:
            reply = _in_form(factory, slack, actor, clock(), team_id, apply)
        except _FormErrors as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        _answer_form(ack, reply, "time", client, background, factory, actor)

    app.command("/pulse")(on_pulse)
    app.view(MEMBERS_CALLBACK)(on_members_form)
    app.view(SCHEDULE_CALLBACK)(on_schedule_form)


class _FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid form")
        self.errors = errors


def _run(
    handler: Handler, factory: SessionFactory, slack: SlackMembership, actor: str, now: datetime, parsed: PulseCommand
) -> Reply:
    """One command, one transaction: an AdminError (or any failure) rolls the whole change back.

    What Slack must answer (new people, the channel's state) is asked first, outside the transaction.
    """
    try:
        learn_members(factory, slack, parsed.users, now)
        check = slack.channel_check(parsed.channel) if parsed.action == "team.channel" else None
        # Reading commands skip the SQLite writer lock: a status must not queue behind (or hold up) writes.
        with factory.begin() if parsed.action in READ_ONLY else transaction(factory) as session:
            return handler(CommandContext(session, actor, now, slack, check), parsed)
    except AdminError as error:
        return Reply(_with_help(error.problem, error.topic, True), refresh_home=False)
    except MembershipUnavailable as error:
        return Reply(f"Slack did not answer ({error}); nothing was changed. Please try again.", refresh_home=False)
    except Exception:
        log.exception("/pulse %s failed", parsed.action)
        return Reply(FAILED, refresh_home=False)


def _in_form(
    factory: SessionFactory,
    slack: SlackMembership,
    actor: str,
    now: datetime,
    team_id: int,
    work: Callable[[CommandContext, Team], str],
) -> Reply:
    """A form's change: the same checks and transaction as a typed command."""
    if not _admit(factory, slack, actor, now):
        return Reply(NOT_ADMIN, refresh_home=False)
    try:
        with transaction(factory) as session:
            team = session.get(Team, team_id)
            if team is None:
                return Reply("That team was deleted meanwhile.", refresh_home=False)
            return Reply(work(CommandContext(session, actor, now, slack), team))
    except AdminError as error:
        return Reply(error.problem, refresh_home=False)


def _answer_form(
    ack: Ack, reply: Reply, block: str, client: WebClient, background: Executor, factory: SessionFactory, actor: str
) -> None:
    if not reply.refresh_home:  # refused: keep the form open and say why under the input
        ack(response_action="errors", errors={block: reply.text[:150]})
        return
    ack()
    # A modal has no response URL: the confirmation goes to the admin's DM with Tandem.
    after_ack(background, client.chat_postMessage, channel=actor, text=reply.text)
    after_ack(background, publish_home, client, factory, actor)


def _after(
    reply: Reply,
    background: Executor,
    client: WebClient,
    factory: SessionFactory,
    actor: str,
    say: Callable[[str], None],
) -> None:
    if reply.follow_up is not None:
        after_ack(background, reply.follow_up, say)
    if reply.refresh_home:
        after_ack(background, publish_home, client, factory, actor)


def _with_help(problem: str, topic: str, is_admin: bool) -> str:
    return f"{problem}\n{help_text(topic, is_admin)}"


def _is_admin(factory: SessionFactory, actor: str) -> bool:
    with factory.begin() as session:
        return is_tandem_admin(member_named(session, actor))


def _admit(factory: SessionFactory, slack: SlackMembership, actor: str, now: datetime) -> bool:
    """Tandem admin per the directory; someone it does not know yet is looked up (users.info) first."""
    if _is_admin(factory, actor):
        return True
    with factory.begin() as session:
        if member_named(session, actor) is not None:
            return False
    record = member_from_slack(slack.user_profile(actor) or {})
    if record is None:
        return False
    with transaction(factory) as session:
        upsert_members(session, [record], now)
    return record.is_admin or record.is_owner
