"""Pure: a closed pulse round per team per week, who got it, who answered, and what they answered.

Everything is an array over rounds, deliveries or answers, built with repeats and offsets from the team
layout (members come in team blocks), so a year of a 10,000-person company is a few seconds of numpy.

Rotation as jobs.rotation does it: three drivers a round in a cycle over the bank (every driver before
any repeats), eNPS on top every fourth round. The whole team is one rotation group, as jobs.round_plan
makes teams under 2k; larger teams stay one group here too, so that their question cells reach k and
survive the close (split into groups of ~k, most cells would have fewer than k answers).

Closing applies the rules of storage.pulses.close_round, so the stored rows are what Tandem would keep:
answer cells (round, question) with fewer than k answers are dropped, and so are the comments of a round
with fewer than k participants. The small team therefore keeps no answers at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from jobs.demo_story import StoryParams, crunch_start_week, ex_intensity
from jobs.question_bank import QuestionBank

QUESTIONS_PER_PULSE = 3
ENPS_EVERY = 4
WINDOW_START_HOURS = 10  # the default pulse window opens at 10:00 in each member's time zone
CLOSE_AFTER_DAYS = 5
ANSWER_NOISE = 0.8  # one person's week-to-week spread on the 1-5 scale
PERSON_SD = 0.45  # how much people differ from their team
QUESTION_SKIP = 0.04  # a respondent skips a single question now and then
NS = 1_000_000_000
DAY_NS = 86_400 * NS


@dataclass(frozen=True)
class Layout:
    """Rounds, their questions and deliveries, as index arrays into each other."""

    round_team: np.ndarray
    round_week: np.ndarray
    rq_start: np.ndarray  # per round: where its questions start in rq_question
    rq_count: np.ndarray
    rq_question: np.ndarray  # question number: bank.questions order, then eNPS
    d_round: np.ndarray  # one entry per delivery
    d_member: np.ndarray


def question_keys(bank: QuestionBank) -> list[str]:
    return [q.key for q in bank.questions] + [bank.enps.key]


def layout(rng: np.random.Generator, teams: pd.DataFrame, bank: QuestionBank, weeks: int, crunch_week: int) -> Layout:
    sizes = teams["size"].to_numpy()
    first = teams["first_member"].to_numpy()
    count = len(sizes)
    round_team, round_week = np.repeat(np.arange(count), weeks), np.tile(np.arange(weeks), count)
    rq_count = QUESTIONS_PER_PULSE + ((round_week + 1) % ENPS_EVERY == 0)
    rq_start = np.concatenate([[0], np.cumsum(rq_count)[:-1]])
    rq_round = np.repeat(np.arange(len(round_team)), rq_count)
    position = np.arange(len(rq_round)) - rq_start[rq_round]
    team, week = round_team[rq_round], round_week[rq_round]
    # Consecutive slots walk the drivers in order: every driver comes up before any repeats, and each
    # driver's questions take turns.
    offset = rng.integers(0, 1000, count)
    if "workload" in bank.drivers:
        # The crunch team is asked about workload (then wellbeing, recognition) the week its crunch starts,
        # so the first sign shows the week it happens rather than whenever rotation comes round to it.
        offset[0] = (bank.drivers.index("workload") - crunch_week * QUESTIONS_PER_PULSE) % len(bank.drivers)
    slot = offset[team] + week * QUESTIONS_PER_PULSE + position
    driver = slot % len(bank.drivers)
    per_driver = np.array([len(bank.by_driver(d)) for d in bank.drivers])
    driver_first = np.concatenate([[0], np.cumsum(per_driver)[:-1]])
    within = (slot // len(bank.drivers) + offset[team]) % per_driver[driver]
    rq_question = np.where(position < QUESTIONS_PER_PULSE, driver_first[driver] + within, len(bank.questions))

    d_round = np.repeat(np.arange(len(round_team)), sizes[round_team])
    d_first = np.concatenate([[0], np.cumsum(sizes[round_team])[:-1]])
    d_member = first[round_team[d_round]] + np.arange(len(d_round)) - d_first[d_round]
    return Layout(round_team, round_week, rq_start, rq_count, rq_question, d_round, d_member)


def utc_times(nanoseconds: np.ndarray) -> pd.Series:
    """Nanoseconds since the epoch (int64 min = missing) as an aware UTC column."""
    return pd.Series(nanoseconds.astype(np.int64).view("datetime64[ns]")).dt.tz_localize("UTC")


def due_times(opened_on: np.ndarray, zone: np.ndarray, zones: pd.Index) -> np.ndarray:
    """UTC nanoseconds of the window start on each opened_on day (datetime64[D]) in each time zone
    (`zone` numbers the `zones`)."""
    local = opened_on.astype("datetime64[ns]").astype(np.int64) + WINDOW_START_HOURS * 3600 * NS
    due = np.empty(len(local), dtype=np.int64)
    for number, name in enumerate(zones):
        mask = zone == number
        due[mask] = pd.DatetimeIndex(local[mask]).tz_localize(name).tz_convert("UTC").asi8
    return due


@dataclass(frozen=True)
class Pulses:
    rounds: pd.DataFrame
    round_questions: pd.DataFrame
    deliveries: pd.DataFrame
    answers: pd.DataFrame
    answer_delivery: np.ndarray  # which delivery gave each answer: for comments' moods, never stored
    lay: Layout


def pulses(
    rng: np.random.Generator,
    teams: pd.DataFrame,
    members: pd.DataFrame,
    bank: QuestionBank,
    first_week: date,
    weeks: int,
    params: StoryParams,
) -> Pulses:
    lay = layout(rng, teams, bank, weeks, crunch_start_week(params, weeks))
    crunch = np.where(lay.round_team == 0, ex_intensity(params, weeks)[lay.round_week], 0.0)
    weekday = teams["pulse_weekday"].to_numpy()[lay.round_team]
    opened_on = np.datetime64(first_week, "D") + lay.round_week * 7 + (weekday - 1)
    zone, zones = pd.factorize(members["tz"])
    due = due_times(opened_on[lay.d_round], zone[lay.d_member], zones)
    first_due = np.minimum.reduceat(due, np.flatnonzero(np.diff(lay.d_round, prepend=-1)))
    rounds = pd.DataFrame(
        {
            "team": lay.round_team,
            "number": lay.round_week + 1,
            "week": pd.to_datetime(np.datetime64(first_week, "D") + lay.round_week * 7),
            "opened_on": pd.to_datetime(opened_on),
            "closes_at": utc_times(first_due + CLOSE_AFTER_DAYS * DAY_NS),
            "k": teams["k"].to_numpy()[lay.round_team],
        }
    )
    keys = question_keys(bank)
    round_questions = pd.DataFrame(
        {
            "round": np.repeat(np.arange(len(lay.round_team)), lay.rq_count),
            "group_no": 0,
            "question": pd.Categorical.from_codes(lay.rq_question, keys),
        }
    )

    # Participation: the team's habit, the week's mood and each person's own habit; crunch weeks dip.
    team_rate = rng.uniform(0.70, 0.84, len(teams))[lay.round_team] + rng.normal(0, 0.03, len(lay.round_team))
    member_rate = rng.normal(0, 0.12, len(members))
    rate = team_rate[lay.d_round] + member_rate[lay.d_member] - params.participation_drop * crunch[lay.d_round]
    answered = rng.random(len(lay.d_round)) < np.clip(rate, 0.05, 0.98)
    skipped = ~answered & (rng.random(len(answered)) < 0.25)
    deliveries = pd.DataFrame(
        {
            "round": lay.d_round,
            "member": lay.d_member,
            "group_no": 0,
            "due_at": utc_times(due),
            "sent_at": utc_times(due + rng.integers(1, 90, len(due)) * NS),
            "answered": answered,
            "skipped": skipped,
        }
    )
    answers, answer_delivery = _answers(rng, lay, answered, bank, params, len(members), crunch)
    return Pulses(rounds, round_questions, deliveries, answers, answer_delivery, lay)


def _answers(
    rng: np.random.Generator,
    lay: Layout,
    answered: np.ndarray,
    bank: QuestionBank,
    params: StoryParams,
    members: int,
    crunch: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Values from a latent score: team baseline per driver + person + team-week mood + story + noise."""
    teams, drivers = int(lay.round_team.max()) + 1, len(bank.drivers)
    base = np.clip(rng.normal(3.85, 0.25, (teams, drivers)), 3.1, 4.5)
    drops = np.array([params.driver_drops.get(d, 0.0) for d in bank.drivers])
    if "workload" in bank.drivers:  # the crunch team starts from a healthy workload, so the fall shows
        base[0, bank.drivers.index("workload")] = max(base[0, bank.drivers.index("workload")], 3.9)
    person = rng.normal(0, PERSON_SD, members)
    mood = rng.normal(0, 0.12, len(lay.round_team))

    source = np.flatnonzero(answered)
    counts = lay.rq_count[lay.d_round[source]]
    delivery = np.repeat(source, counts)
    position = np.arange(len(delivery)) - np.repeat(np.cumsum(counts) - counts, counts)
    # The first question is always answered: a respondent is someone who answered at least one.
    keep = (position == 0) | (rng.random(len(delivery)) >= QUESTION_SKIP)
    delivery, position = delivery[keep], position[keep]
    question = lay.rq_question[lay.rq_start[lay.d_round[delivery]] + position]
    round_ = lay.d_round[delivery]
    team, member = lay.round_team[round_], lay.d_member[delivery]
    question_driver = np.array([bank.drivers.index(q.driver) for q in bank.questions] + [0])
    driver = question_driver[question]
    common = person[member] + mood[round_]
    agreement = base[team, driver] + common - drops[driver] * crunch[round_]
    agreement = np.clip(np.rint(agreement + rng.normal(0, ANSWER_NOISE, len(driver))), 1, 5)
    enps = 7.7 + 2.5 * (common + base[team].mean(axis=1) - 3.85) - params.enps_drop * crunch[round_]
    enps = np.clip(np.rint(enps + rng.normal(0, 1.4, len(driver))), 0, 10)
    is_enps = question == len(bank.questions)
    frame = pd.DataFrame(
        {
            "round": round_.astype(np.int32),
            "question": pd.Categorical.from_codes(question, question_keys(bank)),
            "value": np.where(is_enps, enps, agreement).astype(np.int8),
        }
    )
    return frame, delivery


def close_rounds(rng: np.random.Generator, made: Pulses, comments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers, comments) as the close keeps them: cells of k or more answers, comments of rounds with
    k or more participants (anyone who answered or skipped), each in random order within its round so
    that no row's place points back at the person (generated rows come in member order)."""
    k = made.rounds["k"].to_numpy()
    answers = made.answers
    round_ = answers["round"].to_numpy().astype(np.int64)
    questions = len(answers["question"].cat.categories)
    cell = round_ * questions + answers["question"].cat.codes.to_numpy()
    # One answer per delivery and question, so a cell's row count is its number of distinct respondents.
    per_cell = np.bincount(cell, minlength=len(k) * questions)
    kept = np.flatnonzero(per_cell[cell] >= k[round_])
    kept = kept[np.lexsort((rng.random(len(kept)), cell[kept]))]
    kept_answers = answers.iloc[kept].reset_index(drop=True)
    took_part = (made.deliveries["answered"] | made.deliveries["skipped"]).to_numpy()
    participants = np.bincount(made.deliveries["round"].to_numpy()[took_part], minlength=len(k))
    comment_round = comments["round"].to_numpy()
    kept = np.flatnonzero(participants[comment_round] >= k[comment_round])
    kept = kept[np.lexsort((rng.random(len(kept)), comment_round[kept]))]
    kept_comments = comments.iloc[kept].reset_index(drop=True)
    return kept_answers, kept_comments
