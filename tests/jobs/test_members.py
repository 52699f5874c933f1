from __future__ import annotations

import json

from jobs.members import member_from_slack
from tests.slack_signing import FIXTURES
from tests.slack_standin import make_user, slackbot


def test_it_takes_a_person_from_slacks_documented_users_list_example() -> None:
    page = json.loads((FIXTURES / "slack" / "webapi" / "users.list.ok.json").read_text())
    record = member_from_slack(page["members"][0])
    assert record is not None
    assert record.slack_user_id == "W012A3CDE"
    assert record.email == "spengler@ghostbusters.example.com"
    assert record.tz == "America/Los_Angeles"
    assert record.is_admin is True
    assert record.active is True


def test_it_skips_bots_app_users_and_slackbot() -> None:
    assert member_from_slack(make_user(1, bot=True)) is None
    assert member_from_slack({**make_user(2), "is_app_user": True}) is None
    assert member_from_slack(slackbot()) is None
    assert member_from_slack({"name": "no id"}) is None


def test_it_keeps_deleted_people_as_inactive() -> None:
    record = member_from_slack(make_user(3, deleted=True))
    assert record is not None
    assert record.is_deleted is True
    assert record.active is False


def test_it_normalises_email_and_defaults_a_missing_time_zone_to_utc() -> None:
    user = make_user(4)
    user["profile"]["email"] = "  Person4@Example.COM "
    del user["tz"]
    record = member_from_slack(user)
    assert record is not None
    assert (record.email, record.tz) == ("person4@example.com", "UTC")


def test_it_flags_guests_so_later_rules_can_leave_them_out() -> None:
    record = member_from_slack({**make_user(5), "is_restricted": True})
    assert record is not None
    assert record.is_guest is True
