"""Publish someone's App Home: read what it shows in one transaction, then one views.publish."""

from __future__ import annotations

from functools import cache

from slack_sdk import WebClient

from bot.blocks.home import home_view
from jobs.question_bank import load_default_bank
from storage.db import SessionFactory
from storage.home import home_model


@cache
def _driver_names() -> dict[str, str]:
    # The bank ships with the package and never changes while the process runs: read it once.
    return load_default_bank().driver_names


def publish_home(client: WebClient, factory: SessionFactory, user_id: str) -> None:
    # A read-only transaction: not storage.db.transaction, whose SQLite writer lock would make an
    # App Home wait for pulse writes it does not need to wait for.
    with factory.begin() as session:
        model = home_model(session, user_id)
    client.views_publish(user_id=user_id, view=home_view(model, _driver_names()))
