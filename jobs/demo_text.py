"""Pure: what people write in the demo's comment box, by driver and mood, and each text's sentiment once.

The polarity of a text never changes, so it is computed once per distinct text (a few hundred TextBlob
calls) and looked up for every comment, however many rows the organisation has.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from jobs.sentiment import polarity

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
Moods = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # negative, neutral, positive

COMMENTS: dict[str, Moods] = {
    "workload": (
        (
            "Too many priorities at once, I could not finish anything properly. Frustrating week.",
            "I worked late three evenings in a row just to keep up. I am tired.",
            "Every request is urgent and nobody says what can wait. It is impossible to plan.",
            "The backlog keeps growing faster than we can close it, we are always behind.",
        ),
        (
            "Busy week, but mostly the normal kind of busy.",
            "Workload is fine overall, although Mondays are always heavy.",
            "A few deadlines landed together; next week should be calmer.",
        ),
        (
            "Good balance this week, I had time to finish things properly.",
            "Really happy that we cut scope before the release instead of working weekends.",
            "The new planning meeting made my week much more manageable.",
        ),
    ),
    "wellbeing": (
        (
            "I am exhausted and it is starting to affect my sleep.",
            "Hard to switch off lately, I keep checking Slack at night.",
            "Feeling burnt out and tired, and I am not the only one on the team.",
        ),
        ("Some tough days, some good ones.", "Taking a few days off next month, which should help."),
        (
            "Feeling rested after the long weekend, thanks for encouraging us to take it.",
            "I love that nobody expects replies after hours here.",
            "Great energy on the team lately, I enjoy coming to work.",
        ),
    ),
    "recognition": (
        (
            "We shipped a big piece of work and nobody said a word about it. Disappointing.",
            "It feels unfair that only the loud people get credit.",
        ),
        (
            "Recognition happens, just not very consistently.",
            "Would be nice to hear more often what went well, not only what went wrong.",
        ),
        (
            "Thanks to my lead for calling out my work in the all-hands, that meant a lot.",
            "The kudos channel is a lovely idea, people really use it.",
            "Felt genuinely appreciated after the launch.",
        ),
    ),
    "manager_support": (
        (
            "My one-to-ones keep getting cancelled, which is frustrating when I need help.",
            "I raised the same blocker three times and nothing happened. Pretty bad.",
        ),
        (
            "My manager is supportive but stretched very thin.",
            "Feedback comes mostly at review time, more often would help.",
        ),
        (
            "My manager unblocked the vendor issue in a day, brilliant support.",
            "I always feel listened to in our one-to-ones, which is great.",
            "Clear and honest feedback from my manager this month, very helpful.",
        ),
    ),
    "peer_relationships": (
        (
            "There is some tension between the two halves of the team and it is getting worse.",
            "Hard to get help from others, everybody is heads down on their own work.",
        ),
        (
            "Team is friendly, we just do not overlap much across time zones.",
            "We get along fine, though the remote folks are a bit left out.",
        ),
        (
            "Best team I have worked in, people jump in to help without being asked.",
            "The pairing sessions this week were great fun and really useful.",
            "I trust my teammates completely, they are excellent.",
        ),
    ),
    "growth": (
        (
            "Same tasks for a year and I am not learning anything new. Boring, honestly.",
            "No clear path to the next level, it feels like a dead end.",
        ),
        (
            "I would like a learning budget I can actually find the time to use.",
            "Growth is ok, though the career framework is still vague.",
        ),
        (
            "Leading the migration project has been a great stretch for me.",
            "Learning a lot from the new senior engineers, excellent mentoring.",
            "Excited about the conference next month.",
        ),
    ),
    "alignment": (
        (
            "Priorities changed twice this week and nobody explained why. Confusing.",
            "I do not understand how my work connects to the company goals anymore, which is sad.",
        ),
        (
            "The roadmap makes sense, the reasons behind some changes less so.",
            "The quarterly goals were shared, I have not read them in detail yet.",
        ),
        (
            "The all-hands made the strategy really clear, great job.",
            "I know exactly why our current project matters, which is motivating.",
        ),
    ),
    "autonomy": (
        (
            "Every small decision needs three approvals, it is frustrating.",
            "I feel micromanaged on the details of my work, it is annoying.",
        ),
        (
            "I have freedom in how I work, less in what I work on.",
            "Autonomy is fine, although decisions sometimes get reversed later.",
        ),
        (
            "I love that we can choose how we solve problems.",
            "Trusted to make my own calls, which makes the job enjoyable.",
        ),
    ),
    "tools_processes": (
        (
            "The ticketing tool is slow and crashes several times a day.",
            "Our release process is painful and wastes hours every week.",
            "Too many manual steps in broken spreadsheets, it is awful.",
        ),
        (
            "The new tools are ok once you get used to them.",
            "Processes mostly work, documentation is a bit out of date.",
        ),
        (
            "The new deploy pipeline is fantastic, releases take minutes now.",
            "Really good improvements to our internal tools this quarter.",
        ),
    ),
    "customer_focus": (
        (
            "We keep promising customers things we cannot deliver. Bad for trust.",
            "Customer feedback gets lost before it reaches us, which is a poor way to work.",
        ),
        (
            "We talk about customers a lot, I rarely hear from them directly.",
            "The customer interviews were interesting, not sure what changes because of them.",
        ),
        (
            "Hearing directly from customers in the review was inspiring.",
            "Great to see a customer problem fixed within a week of reporting it.",
        ),
    ),
}
GENERAL: Moods = (
    (
        "Morale is low and nobody seems to notice. Sad to see.",
        "Too many meetings and not enough time to do actual work, it is exhausting.",
        "The reorganisation rumours are stressful and the silence makes it worse.",
    ),
    ("Nothing special to report this week.", "Mixed week, some good parts and some less so.", "Thanks for asking."),
    (
        "Great week overall, proud of what we shipped.",
        "Really enjoying the team and the work right now.",
        "Good vibes this week, the offsite was excellent.",
    ),
)
# What a swamped support team writes: the demo's crunch, in people's words.
CRUNCH: tuple[str, ...] = (
    "Ticket volume has nearly doubled since the launch and we are still the same number of people. Exhausting.",
    "We are rushing replies to hit the SLA, and customers notice. It feels bad.",
    "The queue never goes down, I end every day further behind than I started.",
    "Two people are off and nobody is covering, the rest of us are tired and frustrated.",
    "I am closing tickets too fast just to keep up, some of them will come back. Not a good feeling.",
    "Weekend on-call plus the backlog is too much. I am exhausted.",
)


@dataclass(frozen=True)
class CommentBank:
    """Every distinct text once (`texts`, `polarity`), and the slots of each (driver, mood) cell.

    A cell's texts are `slots[start[row, mood] : start[row, mood] + count[row, mood]]` (text numbers), so
    picking one for a million comments is a few array lookups.
    """

    drivers: tuple[str | None, ...]  # row of the start/count tables; None = a general comment
    texts: tuple[str, ...]
    polarity: np.ndarray  # per text
    slots: np.ndarray  # text numbers, cell after cell
    start: np.ndarray  # (len(drivers), 3)
    count: np.ndarray
    crunch: np.ndarray  # text numbers of the crunch team's own complaints


@cache
def comment_bank(drivers: tuple[str, ...]) -> CommentBank:
    """The bank for these drivers (in this order, then a general row); drivers without texts get the general ones."""
    rows: list[str | None] = [*drivers, None]
    number: dict[str, int] = {}
    slots: list[int] = []
    start = np.zeros((len(rows), 3), dtype=np.int64)
    count = np.zeros((len(rows), 3), dtype=np.int64)
    for row, driver in enumerate(rows):
        moods = COMMENTS.get(driver, GENERAL) if driver is not None else GENERAL
        for mood, cell in enumerate(moods):
            start[row, mood], count[row, mood] = len(slots), len(cell)
            slots.extend(number.setdefault(text, len(number)) for text in cell)
    crunch = np.array([number.setdefault(text, len(number)) for text in CRUNCH], dtype=np.int64)
    texts = tuple(number)
    scores = np.array([polarity(text) for text in texts], dtype=np.float64)
    return CommentBank(tuple(rows), texts, scores, np.array(slots, dtype=np.int64), start, count, crunch)
