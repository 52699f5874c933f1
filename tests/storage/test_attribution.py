"""Which team an outcome counts for: group mapping, explicit agent mapping, directory email, learned ids."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from jobs.members import member_from_slack
from storage.attribution import event_teams
from storage.db import make_session_factory, transaction
from storage.helpdesk_events import learn_agent_ids, store_events
from storage.helpdesk_map import map_agent, map_group
from storage.members import upsert_members
from storage.models import HelpdeskEvent, Member, Team
from storage.teams import add_team_members, create_team
from tests.slack_standin import make_user

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(key: str, email: str | None = None, agent_id: str | None = None, group: str | None = None) -> dict:
    return {
        "event_key": key, "kind": "solved", "ticket_id": key, "occurred_at": NOW, "agent_email": email,
        "agent_id": agent_id, "group_key": group, "group_name": group, "rating_good": None, "rating_score": None,
        "ticket_created_at": None, "first_response_seconds": None, "resolution_seconds": None,
    }  # fmt: skip


def credited(engine: Engine) -> dict[str, set[str]]:
    factory = make_session_factory(engine)
    with factory() as session:
        pairs = event_teams().subquery()
        rows = session.execute(
            select(HelpdeskEvent.event_key, Team.name)
            .join(pairs, pairs.c.event_id == HelpdeskEvent.id)
            .join(Team, Team.id == pairs.c.team_id)
        )
        found: dict[str, set[str]] = {}
        for key, team in rows:
            found.setdefault(key, set()).add(team)
        return found


def test_each_rule_credits_the_right_team_and_nobody_else(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        upsert_members(session, [member_from_slack(make_user(i)) for i in (1, 2, 3)], NOW)
        ids = dict(session.execute(select(Member.slack_user_id, Member.id)).all())
        support, sales, billing = (create_team(session, name, NOW).id for name in ("Support", "Sales", "Billing"))
        add_team_members(session, support, [ids["U00000001"]])
        add_team_members(session, sales, [ids["U00000002"], ids["U00000003"]])
        learn_agent_ids(session, "zendesk", [("101", "person1@example.com"), ("102", "person2@example.com")])
        map_agent(session, "alias@example.com", ids["U00000003"], NOW)
        map_group(session, "Billing Desk", billing, NOW)
        store_events(session, "zendesk", None, [
            event("by-email", email="person1@example.com"),
            event("by-learned-id-1", agent_id="101"),
            event("by-learned-id-2", agent_id="102"),
            event("by-explicit-map", email="alias@example.com"),
            event("group-wins", email="person1@example.com", group="billing desk"),
            event("unknown", email="stranger@example.com"),
            event("unknown-id", agent_id="999"),
        ])  # fmt: skip
    assert credited(engine) == {
        "by-email": {"Support"},
        "by-learned-id-1": {"Support"},
        "by-learned-id-2": {"Sales"},
        "by-explicit-map": {"Sales"},
        "group-wins": {"Billing"},
    }
