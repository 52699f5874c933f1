"""Pure: who of the respondents leaves a comment, about which driver, in what mood, and its text.

The mood follows what the person answered in the round (their mean agreement), so comments agree with
the numbers; the crunch team's unhappy comments in the crunch are often about the queue itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.demo_pulses import Pulses
from jobs.demo_story import StoryParams, ex_intensity
from jobs.demo_text import NEGATIVE, NEUTRAL, POSITIVE, comment_bank
from jobs.question_bank import QuestionBank

COMMENT_RATE = 0.15  # of respondents
ABOUT_ASKED_DRIVER = 0.75  # the rest are general comments (no driver)
MOOD_SPREAD = 0.35  # the same answers do not always come with the same tone
NEGATIVE_BELOW, POSITIVE_FROM = 2.9, 4.0  # mean agreement (plus spread) that tips the mood


def comments(rng: np.random.Generator, pulses: Pulses, bank: QuestionBank, params: StoryParams) -> pd.DataFrame:
    """Columns: round, driver (categorical; NaN for a general comment), text (categorical), polarity."""
    lay = pulses.lay
    texts = comment_bank(bank.drivers)
    weeks = int(lay.round_week.max()) + 1
    crunch = np.where(lay.round_team == 0, ex_intensity(params, weeks)[lay.round_week], 0.0)
    answered = pulses.deliveries["answered"].to_numpy()
    rate = COMMENT_RATE + params.comment_rise * crunch[lay.d_round]
    writer = np.flatnonzero(answered & (rng.random(len(answered)) < rate))

    codes = pulses.answers["question"].cat.codes.to_numpy()
    agreement = codes != len(bank.questions)  # eNPS is on another scale: the mood reads agreement only
    given = pulses.answer_delivery[agreement]
    values = pulses.answers["value"].to_numpy()[agreement]
    total = np.bincount(given, weights=values, minlength=len(answered))[writer]
    count = np.bincount(given, minlength=len(answered))[writer]
    score = total / np.maximum(count, 1) + rng.normal(0, MOOD_SPREAD, len(writer))
    mood = np.where(score < NEGATIVE_BELOW, NEGATIVE, np.where(score >= POSITIVE_FROM, POSITIVE, NEUTRAL))

    # One of the drivers the writer's group was asked this round, or a general comment.
    question_driver = np.array([bank.drivers.index(q.driver) for q in bank.questions] + [0])
    pick = rng.integers(0, 3, len(writer))
    asked = question_driver[lay.rq_question[lay.rq_start[lay.d_round[writer]] + pick]]
    general = len(bank.drivers)
    row = np.where(rng.random(len(writer)) < ABOUT_ASKED_DRIVER, asked, general)
    slot = texts.start[row, mood] + (rng.random(len(writer)) * texts.count[row, mood]).astype(np.int64)
    text = texts.slots[slot]

    round_ = lay.d_round[writer]
    venting = (crunch[round_] > 0) & (mood == NEGATIVE) & (rng.random(len(writer)) < 0.5)
    text[venting] = texts.crunch[rng.integers(0, len(texts.crunch), int(venting.sum()))]
    if "workload" in bank.drivers:
        row[venting] = bank.drivers.index("workload")
    return pd.DataFrame(
        {
            "round": round_.astype(np.int32),
            "driver": pd.Categorical.from_codes(np.where(row == general, -1, row), list(bank.drivers)),
            "text": pd.Categorical.from_codes(text, list(texts.texts)),
            "polarity": texts.polarity[text],
        }
    )
