"""Use cases: schedules, pause and resume, the questions, and the privacy threshold."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import update

from bot.admin.context import AdminError, CommandContext, Reply, clock_words, schedule_words
from bot.admin.forms import ScheduleChoice, schedule_form, schedule_time_problem
from bot.commands import PulseCommand
from jobs.pulse_rounds import team_schedule
from jobs.pulse_schedule import next_pulse_day
from jobs.question_bank import ENPS_DRIVER, QuestionBank
from storage.models import PulseRound, QuestionVersion, Team
from storage.questions import add_custom_question, current_versions, retire_question, save_question, seed_questions
from storage.records import Question
from storage.teams import team_summaries
from storage.workspace import default_threshold, set_default_threshold

WINDOW_MINUTES = 120  # the window a member's DM may go out in, from the chosen time


def schedule(ctx: CommandContext, command: PulseCommand) -> Reply:
    team = ctx.team(command.team, "schedule")
    problem = schedule_time_problem(command.minute)
    if problem:
        raise AdminError("schedule", problem)
    if str(command.weekday) not in team.working_days:
        raise AdminError("schedule", "Pick a working day, Monday to Friday: pulses arrive during the work week.")
    return Reply(apply_schedule(ctx, team, ScheduleChoice(command.cadence_weeks, command.weekday, command.minute)))


def apply_schedule(ctx: CommandContext, team: Team, choice: ScheduleChoice) -> str:
    """Set the team's schedule (the command and the form share this); returns the confirmation."""
    team.every_weeks, team.pulse_weekday = choice.cadence_weeks, choice.weekday
    team.window_start_minute = choice.minute
    team.window_end_minute = choice.minute + WINDOW_MINUTES
    ctx.audit("schedule", f"{team.name}: {schedule_words(team)}")
    next_day = next_pulse_day(team_schedule(team), ctx.now)
    return (
        f"*{team.name}* is asked {schedule_words(team)}, in each member's own time zone (DMs go out until "
        f"{clock_words(team.window_end_minute)}). Next pulse: {next_day:%a %d %b}."
    )


def schedule_modal(ctx: CommandContext, command: PulseCommand) -> Reply:
    return Reply("", modal=schedule_form(ctx.team(command.team, "schedule")), refresh_home=False)


def pause(ctx: CommandContext, command: PulseCommand) -> Reply:
    return _set_paused(ctx, command, paused=True)


def resume(ctx: CommandContext, command: PulseCommand) -> Reply:
    return _set_paused(ctx, command, paused=False)


def _set_paused(ctx: CommandContext, command: PulseCommand, paused: bool) -> Reply:
    team = ctx.team(command.team, command.action)
    if team.paused == paused:
        return Reply(f"*{team.name}* is already {'paused' if paused else 'running'}.", refresh_home=False)
    team.paused = paused
    ctx.audit(command.action, f"{command.action}d {team.name}")
    if paused:
        return Reply(
            f"Paused *{team.name}*: no new rounds until `/pulse resume {team.name}`. An open round still closes."
        )
    return Reply(f"Resumed *{team.name}*: next pulse {next_pulse_day(team_schedule(team), ctx.now):%a %d %b}.")


def list_questions(ctx: CommandContext, command: PulseCommand, bank: QuestionBank) -> Reply:
    _seed(ctx, bank)
    driver = _driver(command.driver, bank, "questions") if command.driver else ""
    by_driver: dict[str, list[str]] = defaultdict(list)
    for row in sorted(current_versions(ctx.session).values(), key=lambda r: r.key):
        if row.retired_at is None and (not driver or row.driver == driver):
            by_driver[row.driver].append(
                f"  `{row.key}` {row.text}" + (f" _(v{row.version})_" if row.version > 1 else "")
            )
    lines = []
    for key in (*bank.drivers, ENPS_DRIVER):
        if by_driver.get(key):
            lines.append(f"*{bank.driver_names.get(key, 'eNPS')}* ({key})")
            lines.extend(by_driver[key])
    if not lines:
        return Reply(f"No questions are asked about {command.driver}.", refresh_home=False)
    lines.append('_Change one: `/pulse question edit ID "new text"`, `/pulse question retire ID`._')
    return Reply("\n".join(lines), refresh_home=False)


def add_question(ctx: CommandContext, command: PulseCommand, bank: QuestionBank) -> Reply:
    _seed(ctx, bank)
    driver = _driver(command.driver, bank, "question.add")
    if driver == ENPS_DRIVER:
        raise AdminError("question.add", "eNPS has one question; edit it instead.")
    row = add_custom_question(ctx.session, driver, command.text, ctx.now)
    ctx.audit("question.add", f"{row.key} ({driver}): {row.text}")
    return Reply(f"Added `{row.key}` to *{bank.driver_names[driver]}*; rotation picks it up from the next round.")


def edit_question(ctx: CommandContext, command: PulseCommand, bank: QuestionBank) -> Reply:
    _seed(ctx, bank)
    current = _live_question(ctx, command.question, "question.edit")
    row = save_question(ctx.session, Question(current.key, current.driver, command.text, current.scale), ctx.now)
    if row is None:
        return Reply(f"`{current.key}` already reads that way.", refresh_home=False)
    ctx.audit("question.edit", f"{row.key} v{row.version}: {row.text}")
    return Reply(f"`{row.key}` now reads “{row.text}” (version {row.version}); past answers keep the old wording.")


def retire(ctx: CommandContext, command: PulseCommand, bank: QuestionBank) -> Reply:
    _seed(ctx, bank)
    current = _live_question(ctx, command.question, "question.retire")
    if current.driver == ENPS_DRIVER:
        raise AdminError("question.retire", "eNPS is asked every few rounds and cannot be retired.")
    siblings = [
        r for r in current_versions(ctx.session).values() if r.driver == current.driver and r.retired_at is None
    ]
    if len(siblings) <= 1:
        raise AdminError("question.retire", f"`{current.key}` is the last question of its driver; add another first.")
    retire_question(ctx.session, current.key, ctx.now)
    ctx.audit("question.retire", f"retired {current.key}")
    return Reply(f"Retired `{current.key}`: it is not asked from the next round on. Its past answers stay.")


def _seed(ctx: CommandContext, bank: QuestionBank) -> None:
    """Admins see and edit the shipped questions before the first round has loaded them."""
    seed_questions(ctx.session, bank.all_questions(), ctx.now)


def _live_question(ctx: CommandContext, key: str, topic: str) -> QuestionVersion:
    current = current_versions(ctx.session).get(key)
    if current is None or current.retired_at is not None:
        raise AdminError(topic, f"There is no question `{key}`: `/pulse questions` lists them with their ids.")
    return current


def _driver(word: str, bank: QuestionBank, topic: str) -> str:
    names = {key: key for key in (*bank.drivers, ENPS_DRIVER)}
    names.update({name.lower(): key for key, name in bank.driver_names.items()})
    if word.lower() not in names:
        raise AdminError(topic, f"`{word}` is not a driver. Drivers: {', '.join(bank.drivers)}.")
    return names[word.lower()]


def privacy(ctx: CommandContext, command: PulseCommand) -> Reply:
    k = default_threshold(ctx.session)
    different = [s.team for s in team_summaries(ctx.session) if s.team.anonymity_threshold != k]
    lines = [
        f"*Privacy.* A team's numbers are shown only when at least *{k}* people answered; comments only when "
        f"at least *{max(k, 5)}* did, shuffled and dated by round.",
        "Answers are stored without names. While a round is open your answers are linked to you only so you can "
        "change them; when it closes the link is erased, and nobody can tell who answered what.",
    ]
    if different:
        shown = ", ".join(f"{t.name} ({t.anonymity_threshold})" for t in different[:20])
        lines.append(f"Teams with their own threshold: {shown}{' …' if len(different) > 20 else ''}")
    return Reply("\n".join(lines), refresh_home=False)


def set_threshold(ctx: CommandContext, command: PulseCommand) -> Reply:
    k = int(command.number or 0)
    if command.team:
        teams = [ctx.team(command.team, "privacy")]
    else:
        set_default_threshold(ctx.session, k)
        teams = [s.team for s in team_summaries(ctx.session)]
    raised = []
    for team in teams:
        team.anonymity_threshold = k
        raised.append(team.id)
    # Stricter applies at once, to open rounds too; a lower k waits for the next round (DESIGN section 4).
    ctx.session.execute(
        update(PulseRound)
        .where(PulseRound.team_id.in_(raised), PulseRound.closed_at.is_(None), PulseRound.anonymity_threshold < k)
        .values(anonymity_threshold=k)
    )
    scope = f"*{teams[0].name}*" if command.team else "every team (and new ones)"
    ctx.audit("privacy.threshold", f"threshold {k} for {teams[0].name if command.team else 'all teams'}")
    return Reply(
        f"Results of {scope} now need at least {k} answers. A higher threshold applies to open rounds at once; "
        "a lower one from each team's next round."
    )
