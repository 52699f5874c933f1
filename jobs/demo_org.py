"""Pure: a synthetic organisation for `tandem demo` and the benchmarks, with a story in its numbers.

`generate_org` returns plain frames (no database): the member directory, teams, a closed pulse round per
team per week with its deliveries, answers and comments, and the support teams' helpdesk outcomes.
Frames refer to each other by row position (`team`, `member`, `round`). The story (jobs/demo_story.py):
"Support EMEA" slides into a workload crunch and its customers feel it two weeks later; "Legal" is too
small to show; every other team is stable noise. The same seed always gives the same organisation.

`benchmark_org(members)` scales it linearly: per 1,000 members, 100 teams (three quarters of them support
teams), 52 weeks, about 120,000 answers and 550,000 helpdesk events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from jobs.demo_comments import comments
from jobs.demo_directory import directory
from jobs.demo_helpdesk import helpdesk_events
from jobs.demo_pulses import close_rounds, pulses
from jobs.demo_story import Story, StoryParams, make_story
from jobs.digest import previous_week
from jobs.question_bank import QuestionBank, load_default_bank
from storage.records import Question

K = 5
DEMO_SUPPORT_SHARE = 0.375  # 3 of the demo's 8 teams
DEMO_TICKETS_PER_AGENT_WEEK = 12.0
BENCHMARK_PRESETS = (1_000, 3_000, 10_000)
BENCHMARK_SEED = 2026
BENCHMARK_WEEKS = 52
BENCHMARK_MEMBERS_PER_TEAM = 10
BENCHMARK_SUPPORT_SHARE = 0.75
BENCHMARK_TICKETS_PER_AGENT_WEEK = 10.2  # with the support share: ~550 helpdesk events a year per member


@dataclass(frozen=True)
class DemoOrg:
    """The organisation as frames. Datetimes are aware UTC; `week` and `opened_on` are naive dates (midnight).

    members: slack_user_id, name, real_name, email, tz, team
    teams: name, region, support, size, first_member (its manager), k, channel_id, manager_user_id,
        pulse_weekday
    memberships: team, member
    rounds: team, number, week, opened_on, closes_at, k (all closed)
    round_questions: round, group_no, question (key)
    deliveries: round, member, group_no, due_at, sent_at, answered, skipped
    answers: round, question (key), value (1-5; eNPS 0-10). No member, as in the database; only what a
        round's close keeps (cells of at least k answers)
    comments: round, driver (NaN = general), text, polarity (rounds of at least k participants)
    helpdesk_events: ticket, kind, occurred_at, agent_email, rating_good, rating_score, ticket_created_at,
        first_response_seconds, resolution_seconds
    """

    seed: int
    first_week: date
    weeks: int
    story: Story
    questions: tuple[Question, ...]  # the bank the rounds asked from, eNPS included
    members: pd.DataFrame
    teams: pd.DataFrame
    memberships: pd.DataFrame
    rounds: pd.DataFrame
    round_questions: pd.DataFrame
    deliveries: pd.DataFrame
    answers: pd.DataFrame
    comments: pd.DataFrame
    helpdesk_events: pd.DataFrame

    @property
    def last_week(self) -> date:
        return self.first_week + timedelta(weeks=self.weeks - 1)

    @property
    def ends_at(self) -> datetime:
        """The Monday after the last week, 00:00 UTC: every round has opened and every event happened by then."""
        return datetime.combine(self.last_week + timedelta(weeks=1), time(), tzinfo=UTC)

    def row_counts(self) -> dict[str, int]:
        frames = ("members", "teams", "memberships", "rounds", "round_questions", "deliveries", "answers")
        return {name: len(getattr(self, name)) for name in (*frames, "comments", "helpdesk_events")}


def generate_org(
    seed: int,
    members: int = 150,
    teams: int = 8,
    weeks: int = 12,
    *,
    end_week_monday: date,
    support_share: float = DEMO_SUPPORT_SHARE,
    tickets_per_agent_week: float = DEMO_TICKETS_PER_AGENT_WEEK,
    k: int = K,
    story: StoryParams | None = None,
    bank: QuestionBank | None = None,
) -> DemoOrg:
    """The organisation over the `weeks` weeks that end with the week of `end_week_monday` (a Monday)."""
    if end_week_monday.weekday() != 0:
        raise ValueError(f"end_week_monday must be a Monday, got {end_week_monday:%A %Y-%m-%d}")
    if not 0.0 < support_share < 1.0:
        raise ValueError("support_share must be between 0 and 1")
    params = story or StoryParams()
    bank = bank or load_default_bank()
    first_week = end_week_monday - timedelta(weeks=weeks - 1)
    # Independent streams per part: changing how comments are drawn leaves the answers as they were.
    people_rng, pulse_rng, comment_rng, ticket_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    member_frame, team_frame = directory(people_rng, members, teams, support_share, k, params)
    made = pulses(pulse_rng, team_frame, member_frame, bank, first_week, weeks, params)
    answers, kept_comments = close_rounds(comment_rng, made, comments(comment_rng, made, bank, params))
    names = team_frame["name"]
    return DemoOrg(
        seed=seed,
        first_week=first_week,
        weeks=weeks,
        story=make_story(params, names.iloc[0], names.iloc[-1], first_week, weeks),
        questions=bank.all_questions(),
        members=member_frame,
        teams=team_frame,
        memberships=pd.DataFrame({"team": member_frame["team"].to_numpy(), "member": np.arange(members)}),
        rounds=made.rounds,
        round_questions=made.round_questions,
        deliveries=made.deliveries,
        answers=answers,
        comments=kept_comments,
        helpdesk_events=helpdesk_events(
            ticket_rng, team_frame, member_frame, first_week, weeks, params, tickets_per_agent_week
        ),
    )


def benchmark_org(members: int, *, seed: int = BENCHMARK_SEED, end_week_monday: date | None = None) -> DemoOrg:
    """A year of an organisation of `members` people (presets: 1,000 / 3,000 / 10,000); everything scales
    linearly with `members`. Without `end_week_monday`, the year ends with the last full week before today."""
    return generate_org(
        seed,
        members,
        teams=max(2, members // BENCHMARK_MEMBERS_PER_TEAM),
        weeks=BENCHMARK_WEEKS,
        end_week_monday=end_week_monday or previous_week(datetime.now(UTC).date()),
        support_share=BENCHMARK_SUPPORT_SHARE,
        tickets_per_agent_week=BENCHMARK_TICKETS_PER_AGENT_WEEK,
    )
