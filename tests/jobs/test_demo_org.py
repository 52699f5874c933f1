from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from jobs.demo_org import DemoOrg, benchmark_org, generate_org
from jobs.sentiment import polarity

END = date(2026, 11, 16)
SEED = 7


@pytest.fixture(scope="module")
def org() -> DemoOrg:
    return generate_org(SEED, end_week_monday=END)


def team_number(org: DemoOrg, name: str) -> int:
    return int(np.flatnonzero(org.teams["name"] == name)[0])


def weekly_driver_means(org: DemoOrg, team: int, driver: str) -> pd.Series:
    rounds = org.rounds
    answers = org.answers[rounds["team"].to_numpy()[org.answers["round"]] == team]
    answers = answers[answers["question"].astype(str).str.startswith(f"{driver}.")]
    return answers.groupby(rounds["week"].to_numpy()[answers["round"]])["value"].mean()


def weekly_outcomes(org: DemoOrg, team: int) -> pd.DataFrame:
    emails = set(org.members.loc[org.members["team"] == team, "email"])
    events = org.helpdesk_events[org.helpdesk_events["agent_email"].astype(str).isin(emails)]
    week = events["occurred_at"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    rated = events["kind"] == "rated"
    satisfied = rated & (events["rating_good"].fillna(False) | (events["rating_score"].fillna(0) >= 4))
    frame = pd.DataFrame({"week": week, "solved": events["kind"] == "solved", "reopened": events["kind"] == "reopened"})
    frame["rated"], frame["satisfied"] = rated, satisfied
    weekly = frame.groupby("week").sum()
    weekly["csat"] = 100 * weekly["satisfied"] / weekly["rated"]
    weekly["reopen_rate"] = weekly["reopened"] / weekly["solved"]
    return weekly


def test_the_same_seed_gives_the_same_organisation_and_another_seed_another() -> None:
    first, again = (generate_org(SEED, members=60, teams=5, weeks=8, end_week_monday=END) for _ in range(2))
    for name in first.row_counts():
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
    other = generate_org(SEED + 1, members=60, teams=5, weeks=8, end_week_monday=END)
    assert not first.members["email"].equals(other.members["email"])
    assert not first.answers.equals(other.answers)


def test_the_directory_looks_like_a_company(org: DemoOrg) -> None:
    assert org.row_counts()["members"] == 150 and len(org.teams) == 8
    assert org.members["slack_user_id"].is_unique and org.members["email"].is_unique
    assert org.members["slack_user_id"].str.fullmatch(r"U[0-9A-Z]{8}").all()
    assert org.teams["name"].is_unique and not org.teams["name"].str.contains(r"Team \d").any()
    assert org.members["tz"].nunique() >= 5
    assert (org.teams["k"] == 5).all() and org.teams["channel_id"].str.startswith("C").all()
    managers = org.members["slack_user_id"].to_numpy()[org.teams["first_member"]]
    assert (org.teams["manager_user_id"].to_numpy() == managers).all()


def test_each_team_has_a_closed_round_a_week_on_its_pulse_day_with_three_drivers_and_enps_every_fourth(
    org: DemoOrg,
) -> None:
    rounds = org.rounds
    assert len(rounds) == len(org.teams) * org.weeks
    weekday = org.teams["pulse_weekday"].to_numpy()[rounds["team"]]
    assert (rounds["opened_on"].dt.isocalendar()["day"].to_numpy() == weekday).all()
    assert (rounds["week"].min().date(), rounds["week"].max().date()) == (org.first_week, END)
    asked = org.round_questions.assign(driver=org.round_questions["question"].astype(str).str.split(".").str[0])
    per_round = asked.groupby("round")["driver"].agg(list)
    for number, drivers in zip(rounds["number"], per_round, strict=True):
        assert len(set(drivers) - {"enps"}) == 3
        assert ("enps" in drivers) == (number % 4 == 0)


def test_participation_is_realistic_and_answers_stay_on_their_scale(org: DemoOrg) -> None:
    participation = org.deliveries.groupby(org.rounds["team"].to_numpy()[org.deliveries["round"]])["answered"].mean()
    assert participation.between(0.6, 0.9).all()
    assert 0.65 <= org.deliveries["answered"].mean() <= 0.85
    assert not (org.deliveries["answered"] & org.deliveries["skipped"]).any()
    enps = org.answers["question"] == "enps"
    assert org.answers.loc[enps, "value"].between(0, 10).all()
    assert org.answers.loc[~enps, "value"].between(1, 5).all()
    # As a round's close keeps them: every (round, question) cell has at least k answers.
    assert org.answers.groupby(["round", "question"], observed=True).size().min() >= 5


def test_comments_come_from_about_fifteen_percent_of_respondents_with_their_texts_polarity(org: DemoOrg) -> None:
    assert 0.10 <= len(org.comments) / org.deliveries["answered"].sum() <= 0.25
    assert org.comments["text"].nunique() > 40
    for text, score in org.comments[["text", "polarity"]].drop_duplicates("text").head(10).itertuples(index=False):
        assert score == pytest.approx(polarity(text))


def test_the_crunch_team_s_workload_falls_first_and_its_customers_feel_it_two_weeks_later(org: DemoOrg) -> None:
    crunch = team_number(org, org.story.crunch_team)
    start = pd.Timestamp(org.story.crunch_start)
    assert org.story.crunch_team == "Support EMEA" and org.story.cx_start == org.story.crunch_start + timedelta(weeks=2)
    assert start == pd.Timestamp(END - timedelta(weeks=4))  # five weeks before the end, the last week included

    workload = weekly_driver_means(org, crunch, "workload")
    before = workload[workload.index < start].mean()
    assert before - workload[workload.index >= start].mean() > 0.7
    assert before - workload[start] > 0.5  # asked the week the crunch starts: the first sign is on time

    weekly = weekly_outcomes(org, crunch)
    baseline = weekly[weekly.index < start]
    first_two = weekly[(weekly.index >= start) & (weekly.index < pd.Timestamp(org.story.cx_start))]
    felt = weekly[weekly.index >= pd.Timestamp(org.story.cx_start)]
    assert abs(first_two["csat"].mean() - baseline["csat"].mean()) < 5
    assert (felt["csat"] < baseline["csat"].mean() - 8).all()
    assert felt["csat"].mean() < baseline["csat"].mean() - 15
    assert felt["reopen_rate"].mean() > baseline["reopen_rate"].mean() + 0.05
    assert first_two["solved"].mean() > baseline["solved"].mean() * 1.15  # the cause: more tickets per agent


def test_the_other_support_teams_stay_stable(org: DemoOrg) -> None:
    for team in np.flatnonzero(org.teams["support"])[1:]:
        weekly = weekly_outcomes(org, int(team))
        assert (weekly["csat"] > weekly["csat"].mean() - 15).all()  # noise, no trend
        assert weekly["csat"].tail(3).mean() == pytest.approx(weekly["csat"].head(9).mean(), abs=6)
        assert weekly["reopen_rate"].max() < 0.15


def test_the_small_team_has_three_people_and_keeps_nothing_that_could_identify_them(org: DemoOrg) -> None:
    small = team_number(org, org.story.small_team)
    assert (org.members["team"] == small).sum() == 3 and org.teams.loc[small, "k"] == 5
    small_rounds = np.flatnonzero(org.rounds["team"] == small)
    assert org.deliveries["round"].isin(small_rounds).sum() == 3 * org.weeks
    assert not org.answers["round"].isin(small_rounds).any()
    assert not org.comments["round"].isin(small_rounds).any()


def test_helpdesk_events_come_from_support_agents_within_the_weeks() -> None:
    org = generate_org(3, members=60, teams=5, weeks=8, end_week_monday=END)
    events = org.helpdesk_events
    support = org.members[org.members["team"].isin(np.flatnonzero(org.teams["support"]))]
    agents = set(support["email"]) - set(org.members["email"].to_numpy()[org.teams["first_member"]])
    assert set(events["agent_email"].astype(str)) <= agents
    assert events["occurred_at"].min() >= pd.Timestamp(org.first_week, tz="UTC")
    assert events["occurred_at"].max() < pd.Timestamp(org.ends_at)
    assert events["occurred_at"].is_monotonic_increasing
    solved = events[events["kind"] == "solved"]
    assert solved["ticket"].is_unique and solved["first_response_seconds"].notna().all()
    assert (solved["resolution_seconds"] >= solved["first_response_seconds"]).all()
    rated = events[events["kind"] == "rated"]
    assert (rated["rating_good"].notna() ^ rated["rating_score"].notna()).all()
    assert rated["rating_score"].dropna().between(1, 5).all()


def test_the_benchmark_preset_scales_linearly() -> None:
    org = benchmark_org(1_000, end_week_monday=END)
    counts = org.row_counts()
    assert (counts["members"], counts["teams"], org.weeks) == (1_000, 100, 52)
    # A tenth of the 10,000-member preset's ~1.2 million answers and ~5.5 million helpdesk events.
    assert counts["answers"] == pytest.approx(120_000, rel=0.2)
    assert counts["helpdesk_events"] == pytest.approx(550_000, rel=0.2)


def test_the_last_week_must_be_given_as_a_monday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        generate_org(1, end_week_monday=END + timedelta(days=1))
    with pytest.raises(ValueError, match="too few"):
        generate_org(1, members=20, teams=8, end_week_monday=END)
