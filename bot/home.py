"""Publish someone's App Home: read what it shows in one transaction, then views.publish, newest last.

Why the care. Two quick clicks run in two threads, often in two processes (gunicorn workers): each
commits its change, reads the Home and publishes it, and the publishes can reach Slack in either
order, so a Home read earlier could overwrite one read later. views.publish takes `hash`, the hash of
the view the caller last saw; Slack refuses the publish with `hash_conflict` when another publish came
in since (https://docs.slack.dev/reference/methods/views.publish). That makes it a compare-and-set:

1. Take a hash *before* reading: the one the request carries (the Home the user clicked in, or the one
   app_home_opened says is open), else the one this process last published for the user.
2. Read the database, publish with that hash. Accepted: no publish came between that hash and ours, so
   every earlier publish read the database before we did; ours is the newest.
3. Refused (or no hash known, as for a first Home): read again and publish without a hash, then read
   once more; if the Home is still the same, the view shown is the database as of after our publish,
   newer than every change committed before it. If it changed meanwhile, go to 2 with the hash our
   publish got back.

Decision: re-read and retry on hash_conflict, rather than trusting a remembered hash per user: a
process's memory of hashes is stale whenever another worker published, and Slack has no call that
reads the current hash. The remembered hash only saves a round trip when it happens to be current.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.blocks.home import home_view
from jobs.home_summary import manager_summaries
from jobs.question_bank import load_default_bank
from storage.db import SessionFactory
from storage.home import home_model, managed_rounds
from storage.home_records import HomeModel

log = logging.getLogger(__name__)

MAX_PUBLISHES = 5  # per call; each extra one means someone else published meanwhile
KNOWN_HASHES = 10_000  # users whose last published hash this process remembers

# (Slack Web API base URL, user id) -> the hash of the Home this process last published for them.
_hashes: dict[tuple[str, str], str] = {}
_hashes_guard = threading.Lock()


@cache
def _driver_names() -> dict[str, str]:
    # The bank ships with the package and never changes while the process runs: read it once.
    return load_default_bank().driver_names


def home_for(session: Session, user_id: str) -> HomeModel:
    """The whole Home model; the managers' part goes through the anonymity engine, as the digest does."""
    managed = managed_rounds(session, user_id)
    model = home_model(session, user_id)
    if managed.teams.empty:
        return model
    return replace(model, managed=manager_summaries(managed.teams, managed.rounds, managed.answers))


@dataclass(frozen=True)
class ReadHome:
    """A Home read and not yet published: the view, and the hash taken before it was read."""

    user_id: str
    view: dict[str, Any]
    seen_hash: str | None


def publish_home(client: WebClient, factory: SessionFactory, user_id: str, seen_hash: str | None = None) -> None:
    """Read the user's Home and publish it so that no earlier read can overwrite it (see the module
    docstring). `seen_hash`: the hash of the Home view the request came from, when it came from one."""
    send_home(client, factory, read_home(client, factory, user_id, seen_hash))


def read_home(client: WebClient, factory: SessionFactory, user_id: str, seen_hash: str | None = None) -> ReadHome:
    """Step 1 and the read of step 2: the hash first, then the view."""
    known = seen_hash or _remembered((client.base_url, user_id))
    return ReadHome(user_id, _read_view(factory, user_id), known)


def send_home(client: WebClient, factory: SessionFactory, home: ReadHome) -> None:
    """Steps 2 and 3: publish `home`; when Slack refuses it, read again until a publish stands."""
    key, view, known = (client.base_url, home.user_id), home.view, home.seen_hash
    for _ in range(MAX_PUBLISHES):
        try:
            response = client.views_publish(user_id=home.user_id, view=view, hash=known)
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":
                raise
            # Someone published since that hash, and we cannot know theirs: read again, publish without.
            view, known = _read_view(factory, home.user_id), None
            continue
        published = _hash_of(response.data)
        _remember(key, published)
        if known is not None or published is None:
            return
        # Published without a hash: it stands only if nothing changed while it was on its way.
        fresh = _read_view(factory, home.user_id)
        if fresh == view:
            return
        view, known = fresh, published
    log.warning(
        "the App Home of %s changed under %d publishes in a row; the last one stands", home.user_id, MAX_PUBLISHES
    )


def hash_in(container: Any) -> str | None:
    """The `hash` of the view in a Slack payload (block_actions' body or app_home_opened's event), if any."""
    view = container.get("view") if isinstance(container, dict) else None
    value = view.get("hash") if isinstance(view, dict) else None
    return value if isinstance(value, str) and value else None


def _read_view(factory: SessionFactory, user_id: str) -> dict[str, Any]:
    # A read-only transaction: not storage.db.transaction, whose SQLite writer lock would make an
    # App Home wait for pulse writes it does not need to wait for.
    with factory.begin() as session:
        model = home_for(session, user_id)
    return home_view(model, _driver_names())


def _hash_of(data: Any) -> str | None:
    return hash_in(data) if isinstance(data, dict) else None


def _remembered(key: tuple[str, str]) -> str | None:
    with _hashes_guard:
        return _hashes.get(key)


def _remember(key: tuple[str, str], value: str | None) -> None:
    with _hashes_guard:
        _hashes.pop(key, None)
        if value is not None:
            _hashes[key] = value
            if len(_hashes) > KNOWN_HASHES:
                _hashes.pop(next(iter(_hashes)))  # the least recently published
