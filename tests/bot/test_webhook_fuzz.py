"""Fuzzing every helpdesk webhook endpoint through the real HTTP server: never a 5xx, never a traceback.

Hypothesis draws, per provider, a body (random bytes, random JSON, a real payload with parts replaced,
dropped or cut, or something nasty: empty, nested 100,000 deep, over a megabyte, not UTF-8…) and random
headers, and sends each body three times to POST /webhooks/<provider> on one live server per backend:

- correctly signed (so it reaches the parser and the database): 200, or 400 with the payload kept;
- unsigned (only the random headers): 401;
- badly signed (wrong secret, another body, a stale Zendesk timestamp, garbage…): 401.

Every answer is one of 200, 400, 401, 404, 413; JSON; a one-line `error` for a 4xx; never a traceback.
Afterwards the database holds exactly the deliveries the signed requests were answered for (none from an
unsigned or badly signed one), and every delivery kept as failed says why.

Count: EXAMPLES (200) per provider x 5 providers x 3 requests = 3,000 webhook requests, plus 150 to
unknown provider names: about 28 s on SQLite on a 2-core machine when nothing fails (as much again on
PostgreSQL, when TANDEM_TEST_POSTGRES_URL is set); a failure takes longer, while hypothesis shrinks it.
"""

from __future__ import annotations

import base64
import copy
import hmac
import itertools
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select, text

from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.helpdesk.providers import PROVIDERS
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import WebhookDelivery
from tests.live_server import Reply, request
from tests.pulse_fixtures import serve_tandem
from tests.slack_standin import SlackStandin

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "helpdesk"
EXAMPLES_DIR = ROOT / "docs" / "webhooks" / "examples"
POSTGRES_URL = os.environ.get("TANDEM_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]

SECRETS = {
    "zendesk": "zendesk-signing-secret",
    "intercom": "intercom-client-secret",
    "helpscout": "helpscout-secret-key",
    "freshdesk": "freshdesk-shared-token",
    "generic": "generic-bearer-token",
}
NAMES = sorted(PROVIDERS)
EXAMPLES = 200  # per provider; three requests each
ALLOWED = {200, 400, 401, 404, 413}
MAX_BODY = 1024 * 1024  # bot.http_app.MAX_BODY_BYTES
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# -- the server: one per backend for the whole module ---------------------------------------------------


@dataclass
class Tally:
    """What the server was sent and answered, to check the database against afterwards."""

    requests: Counter[str] = field(default_factory=Counter)  # by "provider signed|unsigned|forged"
    statuses: Counter[int] = field(default_factory=Counter)
    stored: dict[str, set[str]] = field(default_factory=dict)  # keys of the deliveries each provider must hold
    refused: dict[str, set[str]] = field(default_factory=dict)  # delivery keys of refused bodies
    accepted: dict[str, set[str]] = field(default_factory=dict)  # delivery keys of signed, answered bodies


class Fuzz:
    """Not a dataclass: hypothesis prints it with every failing example, and the tally is long."""

    def __init__(self, engine: Engine, port: int, ingest: WebhookIngest) -> None:
        self.engine, self.port, self.ingest, self.tally = engine, port, ingest, Tally()

    def __repr__(self) -> str:
        return f"Fuzz({self.engine.dialect.name}, port {self.port}, {sum(self.tally.requests.values())} requests)"


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    """A migrated database of its own (the conftest fixtures are per test) and Tandem's HTTP app on a socket."""
    with _database_url(request.param, tmp_path_factory) as url:
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
        ingest = WebhookIngest(factory)
        try:
            with (
                SlackStandin() as standin,
                serve_tandem(engine, standin, factory, lambda: datetime.now(UTC), SECRETS, ingest) as server,
            ):
                yield Fuzz(engine, server.port, ingest)
        finally:
            engine.dispose()


@contextmanager
def _database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SQLite file; on PostgreSQL, a schema of its own, dropped afterwards (as tests/conftest.py does)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('webhook-fuzz') / 'tandem.db'}"
        return
    schema = f"tandem_fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- real payloads to start from -------------------------------------------------------------------------


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


ZENDESK = [
    _fixture("zendesk/event_ticket_status_changed_solved.json"),
    _fixture("zendesk/api_satisfaction_rating_good.json"),
    {
        "type": "zen:event-type:ticket.comment_added",
        "id": "c0ffee00-1",
        "time": "2026-01-05T10:00:00Z",
        "subject": "zen:ticket:77",
        "detail": {"id": "77", "group_id": "9", "assignee_id": "5", "created_at": "2026-01-01T00:00:00Z"},
        "event": {"comment": {"id": "1", "is_public": True, "author": {"id": "5", "is_staff": True}}},
    },
    {
        "event": "solved",
        "ticket_id": "101",
        "status": "solved",
        "assignee_id": "5",
        "assignee_email": "agent@example.com",
        "group": "Tier 1",
        "created_at": "2026-01-01T09:00:00Z",
        "updated_at": "2026-01-02T10:00:00Z",
        "satisfaction_rating": "Good, I'm satisfied",
        "current_user_id": "6",
        "current_user_email": "other@example.com",
    },
]
FRESHDESK = [
    _fixture("freshdesk/status_changed.json"),
    {
        "freshdesk_webhook": {
            "ticket_id": "12",
            "ticket_status": "Resolved",
            "triggered_event": "{status:{from:2,to:4}}",
            "agent_email": "agent@example.com",
            "group_name": "Billing",
            "created_at": "2026-01-01 09:00:00 UTC",
            "updated_at": "2026-01-02 10:00:00 +0530",
            "status_changed_at": "2026-01-02T10:00:00Z",
            "csat": "good",
        }
    },
]
# An older rule left {{triggered_event}} unquoted: not JSON, repaired by the parser (byte mutations only).
FRESHDESK_RAW = [
    b'{"freshdesk_webhook": {"ticket_id": "13", "triggered_event": {status:{from:4,to:2}},'
    b' "updated_at": "2026-01-02 10:00:00 +0530"}}'
]
_ADMIN = {"type": "admin", "id": "814860", "name": "Mark Strong", "email": "MK@acmeinc.org"}


def _notification(topic: str, item: dict[str, Any], notif: str | None = "notif_5e1f") -> dict[str, Any]:
    return {"type": "notification_event", "data": {"item": item}, "id": notif, "topic": topic, "created_at": 1767600000}


def _conversation(**more: Any) -> dict[str, Any]:
    item = {
        "type": "conversation",
        "id": "215475262949230",
        "created_at": 1767590000,
        "updated_at": 1767599990,
        "admin_assignee_id": 814860,
        "team_assignee_id": 5017691,
        "statistics": {"first_admin_reply_at": "2026-01-05T05:23:20.000Z", "time_to_admin_reply": 45},
        "conversation_parts": {
            "conversation_parts": [
                {"part_type": "comment", "id": "p1", "created_at": 1767599000, "author": _ADMIN, "body": "<p>Hi</p>"}
            ]
        },
    }
    return {**item, **more}


INTERCOM = [
    _fixture("intercom/conversation_admin_closed.json"),
    _notification("conversation.admin.replied", _conversation()),
    _notification("conversation.admin.replied", _conversation(statistics={"time_to_admin_reply": 45})),
    _notification(
        "conversation.rating.added",
        _conversation(conversation_rating={"rating": 5, "created_at": 1767600000, "teammate": _ADMIN}),
    ),
    _notification(
        "ticket.state.updated",
        {
            "type": "ticket",
            "id": "42",
            "ticket_state": {"category": "resolved"},
            "ticket_parts": {
                "ticket_parts": [
                    {
                        "part_type": "ticket_state_updated_by_admin",
                        "previous_ticket_state": "in_progress",
                        "created_at": 1767600000,
                    }
                ]
            },
        },
    ),
    _notification("ping", {"type": "ping", "message": "hi"}, notif=None),
]
_JACK = {"id": 1234, "email": "Jack.Sprout@Example.com", "type": "user"}
HELPSCOUT = [
    _fixture("helpscout/satisfaction_ratings.json"),
    {
        "id": 2391938111,
        "status": "closed",
        "owner": _JACK,
        "mailbox": {"id": 1234, "name": "Support Mailbox"},
        "createdAt": "2012-07-23T12:34:12Z",
        "modifiedAt": "2012-07-24T20:18:33Z",
        "closedAt": "2012-07-24T20:18:33Z",
        "threads": [
            {"id": 1, "type": "message", "status": "closed", "createdBy": _JACK, "createdAt": "2012-07-24T20Z"}
        ],
    },
    {
        "id": 10,
        "status": "active",
        "mailboxId": 85,
        "assignee": {"id": 9, "email": "mia@example.com", "type": "user"},
        "createdAt": "2026-01-05T08:00:00Z",
        "userUpdatedAt": "2026-01-05T09:30:00Z",
        "closedAt": "2026-01-04T00:00Z",
        "_embedded": {"threads": [{"id": 2, "type": "reply", "createdBy": _JACK, "createdAt": "2026-01-05T09:00:00Z"}]},
    },
]
HELPSCOUT_EVENTS = [
    "convo.status",
    "convo.agent.reply.created",
    "satisfaction.ratings",
    "convo.tags",
    "",
    "CONVO.STATUS",
]
GENERIC = [json.loads(path.read_bytes()) for path in sorted(EXAMPLES_DIR.glob("*.json"))]
SEEDS: dict[str, list[Any]] = {
    "zendesk": ZENDESK,
    "freshdesk": FRESHDESK,
    "intercom": INTERCOM,
    "helpscout": HELPSCOUT,
    "generic": GENERIC,
}
ALL_SEEDS = [doc for docs in SEEDS.values() for doc in docs]


# -- strategies ------------------------------------------------------------------------------------------

# Values that trip careless code: wrong types, empties, huge numbers, times at the ends of the calendar,
# lone surrogates, NUL, line breaks, text that grows when case-folded, and the words the parsers look for.
# fmt: off
EDGE_VALUES = st.sampled_from([
    None, "", " ", 0, -1, "0", True, False, [], {}, 0.5, 1.0, -1e-9, 1e308, -1e308, float("inf"), float("nan"),
    2**31, 2**63, -(2**63) - 1, 10**30, 10**4000, 1553291389, 99999999999999, "1553291389",
    "2025-01-08T16:45:20Z", "2026-01-05T09:00:00+05:30", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z", "2026-02-30T00:00:00Z", "2026-01-05", "Wed, 08 Jan 2025 16:50:00 GMT",
    "2026-01-02 10:00:00 +0530", "soon", "{{ticket.id}}", "\ud800", "a\udfffb", "\x00", "nul\x00byte",
    "line one\nline two", "\r\n", "x" * 300, "ß" * 255, "İ" * 200, "ﬃ" * 100, "SOLVED", "CLOSED", "OPEN", "NEW",
    "resolved", "closed", "active", "good", "bad", "Great", "Okay", "5", 5, 4, 3, 1, "a@b", "Person@Example.com",
    "zen:ticket:1", "zen:event-type:ticket.status_changed", "zen:event-type:ticket.comment_added",
    "{status:{from:2,to:4}}", "{status:{from:4,to:2}}", "{responder_id:{from:null,to:77}}",
    "conversation.admin.closed", "conversation.admin.replied", "conversation.rating.added", "ticket.closed",
    "notif_x", "admin", "user", "close", "comment", "solved", "rated", "replied", "reopened",
])
# The few that broke storage or the answer when they reached it (see poisoned_docs).
HOSTILE_TEXT = st.sampled_from([
    "\ud800", "a\udfffb", "\x00", "nul\x00byte", "line one\nline two", "line one\n" + "x" * 300, "x" * 300,
    "ß" * 255, "ﬃ" * 100, "", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
])
HOSTILE_NUMBERS = st.sampled_from([2**31, 2**63, 10**30, -1, 0, 1e308, 0.5])
HOSTILE = HOSTILE_TEXT | HOSTILE_NUMBERS
KEYS = st.sampled_from([
    "type", "id", "time", "detail", "event", "current", "previous", "subject", "ticket_id", "status", "topic",
    "data", "item", "created_at", "updated_at", "event_id", "occurred_at", "rating", "events", "freshdesk_webhook",
    "triggered_event", "csat", "ticketId", "threads", "_embedded", "statistics", "conversation_parts", "author",
])
# fmt: on
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | EDGE_VALUES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), children, max_size=5),
    max_leaves=10,
)


# Ids no other example has (hypothesis draws small numbers again and again): a mutant that keeps its seed's
# id, or collides with another's, is answered as a duplicate and never reaches the database.
FRESH = itertools.count(1)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mutated_docs(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A real payload with up to four parts replaced, dropped, or given a new key; a fresh id now and then."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(KEYS | st.text(max_size=8))] = draw(EDGE_VALUES | JSON_VALUES)
        else:
            parent[path[-1]] = draw(EDGE_VALUES | JSON_VALUES)
    if isinstance(doc, dict) and draw(st.booleans()):
        # Otherwise most mutants share their seed's id and are answered as duplicates, never stored.
        fresh = f"fz-{next(FRESH)}"
        for name in ("id", "event_id"):
            if isinstance(doc.get(name), str):
                doc[name] = fresh
    return doc


@st.composite
def poisoned_docs(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A real payload with a fresh id and one or two of its values made hostile: what a uniform mutation
    almost never hits (a lone surrogate where a ticket id goes, a huge number where seconds go)."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    if isinstance(doc, dict):
        fresh = f"fz-{next(FRESH)}"
        for name in ("id", "event_id"):
            if isinstance(doc.get(name), str):
                doc[name] = fresh
    leaves = [path for path in _paths(doc) if path and not isinstance(_at(doc, path), dict | list)]
    for path in draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=2)) if leaves else []:
        parent, old = _at(doc, path[:-1]), _at(doc, path)
        # Mostly of the value's own kind, so it gets past the type checks to where it is used and stored.
        kind = HOSTILE_TEXT if isinstance(old, str) else HOSTILE_NUMBERS if isinstance(old, int | float) else HOSTILE
        parent[path[-1]] = draw(st.one_of(kind, kind, kind, HOSTILE))
    return doc


@st.composite
def flooded_docs(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A real payload with a fresh id and one hostile text in every text field but its times (so that it is
    read, and the text reaches whatever stores or prints it), or one hostile number in every number."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    numbers = draw(st.booleans())
    value = draw(HOSTILE_NUMBERS if numbers else HOSTILE_TEXT)
    for path in _paths(doc)[1:]:
        old = _at(doc, path)
        is_number = isinstance(old, int | float) and not isinstance(old, bool)
        is_text = isinstance(old, str) and not re.match(r"\d{4}-\d\d-\d\d", old)
        if is_number if numbers else is_text:
            _at(doc, path[:-1])[path[-1]] = value
    if isinstance(doc, dict):
        for name in ("id", "event_id"):
            if isinstance(doc.get(name), str):
                doc[name] = f"fz-{next(FRESH)}{value if isinstance(value, str) else ''}"
    return doc


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _encode(doc: Any, ascii_only: bool) -> bytes:
    if ascii_only:
        return json.dumps(doc).encode()
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")  # invalid UTF-8 for surrogates


def cut(raw: bytes) -> st.SearchStrategy[bytes]:
    """The bytes with a slice removed or replaced by random bytes."""
    return st.tuples(st.integers(0, len(raw)), st.integers(0, 40), st.binary(max_size=8)).map(
        lambda c: raw[: c[0]] + c[2] + raw[c[0] + c[1] :]
    )


NASTY = st.sampled_from(
    [
        b"",
        b" ",
        b"null",
        b"[]",
        b"{}",
        b'""',
        b"\xff\xfe{\x00}\x00",
        b"\xef\xbb\xbf{}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"1" * 5000,
        b"1e999",
        b'"\\ud800"',
        b'{"id": "\\u0000", "topic": "\\ud800", "event_id": "\\udfff"}',
        b"x" * (MAX_BODY + 1),
    ]
)


def bodies(provider: str) -> st.SearchStrategy[bytes]:
    own = SEEDS[provider]
    raw = [_encode(doc, True) for doc in own] + (FRESHDESK_RAW if provider == "freshdesk" else [])
    return st.one_of(
        st.builds(_encode, poisoned_docs(own), st.just(True)),
        st.builds(_encode, poisoned_docs(own), st.just(True)),
        st.builds(_encode, poisoned_docs(own), st.just(True)),
        st.builds(_encode, poisoned_docs(own), st.booleans()),
        st.builds(_encode, flooded_docs(own), st.just(True)),
        st.builds(_encode, flooded_docs(own), st.just(True)),
        st.builds(_encode, mutated_docs(own), st.booleans()),
        st.builds(_encode, mutated_docs(ALL_SEEDS), st.booleans()),
        st.sampled_from(raw).flatmap(cut),
        st.builds(_encode, JSON_VALUES, st.booleans()),
        st.binary(max_size=300),
        NASTY,
    )


# fmt: off
HEADER_NAMES = st.sampled_from([
    "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp", "X-Zendesk-Webhook-Invocation-Id",
    "X-Zendesk-Webhook-Id", "X-Hub-Signature", "X-HelpScout-Signature", "X-HelpScout-Event", "X-Tandem-Token",
    "Authorization", "Date", "X-Request-Id", "Accept", "User-Agent", "Cookie", "Content-Encoding",
]) | st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z")
# Latin-1 text without CR or LF (http.client refuses those); the server decodes headers as Latin-1 too.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
HEADER_VALUES = HEADER_TEXT | st.sampled_from(
    ["", "sha1=", "sha1=00", "Bearer", "Bearer ", "Basic !!!", "Basic Og==", "2026-01-05T10:00:00Z", "garbage"]
)
NOISE = st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4)
CONTENT_TYPES = st.sampled_from([
    None, "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1",
])
# fmt: on


# -- signing, as each helpdesk does, and getting it wrong ------------------------------------------------


def _hmac(secret: str, message: bytes, digest: str) -> bytes:
    return hmac.new(secret.encode(), message, digest).digest()


def _zendesk_stamp(style: int, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    return [
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.isoformat(),
        moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z",
        moment.astimezone(datetime.now().astimezone().tzinfo).isoformat(),
        (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        (moment - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),  # a retry signed half an hour ago
    ][style % 6]


def signed_headers(provider: str, body: bytes, style: int, now: float) -> dict[str, str]:
    """What the helpdesk sends with `body` when Tandem's secret is the one it was given."""
    secret = SECRETS[provider]
    if provider == "zendesk":
        stamp = _zendesk_stamp(style, now)
        signature = base64.b64encode(_hmac(secret, stamp.encode() + body, "sha256")).decode()
        return {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    if provider == "intercom":
        hexdigest = _hmac(secret, body, "sha1").hex()
        return {"X-Hub-Signature": f"sha1={hexdigest}" if style % 2 else f"SHA1={hexdigest.upper()}"}
    if provider == "helpscout":
        return {"X-HelpScout-Signature": base64.b64encode(_hmac(secret, body, "sha1")).decode()}
    if provider == "freshdesk":
        return [
            {"X-Tandem-Token": secret},
            {"Authorization": f"Bearer {secret}"},
            {"Authorization": "Basic " + base64.b64encode(f"{secret}:X".encode()).decode()},
            {"Authorization": "Basic " + base64.b64encode(f"tandem:{secret}".encode()).decode()},
        ][style % 4]
    return {"Authorization": f"Bearer {secret}" if style % 2 else f"bearer   {secret}"}


def forged_headers(provider: str, body: bytes, style: int, garbage: str, now: float) -> dict[str, str]:
    """Signatures and tokens that must not be taken: another secret, another body, too old, garbage."""
    wrong = SECRETS[provider] + "x"
    choice = style % 4
    if choice == 0:  # the right scheme with the wrong secret
        return _resign(provider, body, wrong, now)
    if choice == 1:  # the right secret over another body; the right token where it is not looked for
        if provider == "freshdesk":
            return {"Authorization": f"Token {SECRETS[provider]}"}
        if provider == "generic":
            return {"X-Tandem-Token": SECRETS[provider]}
        return signed_headers(provider, body + b" ", style // 4, now)
    if choice == 2:  # garbage in the header that carries the proof
        header = {"zendesk": "X-Zendesk-Webhook-Signature", "intercom": "X-Hub-Signature"}.get(provider)
        header = header or {"helpscout": "X-HelpScout-Signature"}.get(provider, "Authorization")
        extra = {"X-Zendesk-Webhook-Signature-Timestamp": _zendesk_stamp(0, now)} if provider == "zendesk" else {}
        return {header: garbage, **extra}
    secret = SECRETS[provider]
    if provider == "zendesk":  # correctly signed, but two hours old, or ten minutes in the future
        stamp = datetime.fromtimestamp(now + (600 if style % 8 == 3 else -7200), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(_hmac(secret, stamp.encode() + body, "sha256")).decode()
        return {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    if provider == "intercom":  # the right secret, another algorithm
        return {"X-Hub-Signature": "sha256=" + _hmac(secret, body, "sha256").hex()}
    if provider == "helpscout":
        return {"X-HelpScout-Signature": base64.b64encode(_hmac(secret, body, "sha256")).decode()}
    if provider == "freshdesk":
        return {"Authorization": "Basic " + base64.b64encode(secret.upper().encode()).decode()}
    return {"Authorization": f"Token {secret}"}


def _resign(provider: str, body: bytes, secret: str, now: float) -> dict[str, str]:
    if provider == "zendesk":
        stamp = _zendesk_stamp(0, now)
        signature = base64.b64encode(_hmac(secret, stamp.encode() + body, "sha256")).decode()
        return {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    if provider == "intercom":
        return {"X-Hub-Signature": "sha1=" + _hmac(secret, body, "sha1").hex()}
    if provider == "helpscout":
        return {"X-HelpScout-Signature": base64.b64encode(_hmac(secret, body, "sha1")).decode()}
    if provider == "freshdesk":
        return {"X-Tandem-Token": secret}
    return {"Authorization": f"Bearer {secret}"}


# -- sending and checking --------------------------------------------------------------------------------


def merge(*layers: dict[str, str]) -> dict[str, str]:
    """Headers, the later layers winning, one value per name whatever its capitals."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


def post(fuzz: Fuzz, provider: str, body: bytes, headers: dict[str, str], how: str) -> dict[str, Any]:
    reply = request(fuzz.port, "POST", f"/webhooks/{provider}", body, headers, timeout=30)
    # Counted before anything is checked: a failing example is run again, and must find the tally right.
    tally = fuzz.tally
    tally.requests[f"{provider} {how}"] += 1
    tally.statuses[reply.status] += 1
    key = PROVIDERS[provider].delivery_key(body, {k.lower(): v for k, v in headers.items()})
    if how != "signed":
        tally.refused.setdefault(provider, set()).add(key)
    elif (reply.status == 400 and b"(kept;" in reply.body) or reply.status == 200:
        tally.stored.setdefault(provider, set()).add(key)
    if how == "signed" and reply.status in (200, 400):
        tally.accepted.setdefault(provider, set()).add(key)
    answer = check(reply, f"{how} POST /webhooks/{provider} with {len(body)} bytes and headers {headers!r}")
    if how != "signed":
        assert reply.status in (401, 413), f"{how} request answered {reply.status}: {reply.body[:300]!r}"
    else:
        assert reply.status in (200, 400, 413), f"signed request answered {reply.status}: {reply.body[:300]!r}"
        assert reply.status != 413 or len(body) > MAX_BODY
        assert reply.status != 200 or isinstance(answer.get("events"), int), answer
    return answer


def check(reply: Reply, what: str) -> dict[str, Any]:
    """Any answer: an expected status, JSON, a one-line reason for a refusal, no traceback."""
    assert reply.status in ALLOWED, f"{what}: {reply.status} {reply.body[:500]!r}"
    assert b"Traceback" not in reply.body, f"{what}: {reply.body[:500]!r}"
    assert reply.headers.get("content-type", "").startswith("application/json"), f"{what}: {reply.headers}"
    answer = json.loads(reply.body)
    assert isinstance(answer, dict), f"{what}: {answer!r}"
    if reply.status >= 400:
        error = answer.get("error")
        assert isinstance(error, str) and error.strip(), f"{what}: {reply.status} without an error: {answer!r}"
        assert "\n" not in error and "\r" not in error, f"{what}: {reply.status} error of several lines: {error!r}"
    else:
        assert answer.get("ok") is True, f"{what}: {answer!r}"
    return answer


# -- the tests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_any_body_and_headers_get_a_json_answer_and_never_a_server_error(
    fuzz: Fuzz, provider: str, data: st.DataObject
) -> None:
    body = data.draw(bodies(provider), label="body")
    noise = data.draw(NOISE, label="random headers")
    content_type = data.draw(CONTENT_TYPES, label="content type")
    real_events = st.sampled_from(HELPSCOUT_EVENTS[:3])  # the ones Tandem reads, mostly: else bodies are ignored
    event = data.draw(
        st.one_of(real_events, real_events, st.sampled_from(HELPSCOUT_EVENTS), HEADER_TEXT), label="event"
    )
    style = data.draw(st.integers(0, 15), label="signing style")
    garbage = data.draw(HEADER_VALUES, label="garbage signature")
    base = merge({"Content-Type": content_type} if content_type else {}, noise)
    if provider == "helpscout":  # not part of the signature: names the event the body is
        base = merge(base, {"X-HelpScout-Event": event})
    now = time.time()
    post(fuzz, provider, body, base, "unsigned")
    post(fuzz, provider, body, merge(base, forged_headers(provider, body, style, garbage, now)), "forged")
    post(fuzz, provider, body, merge(base, signed_headers(provider, body, style, now)), "signed")


# No "/" in the name: the server decodes %2F, and werkzeug answers a path with "//" with a 308 to the merged path.
@settings(max_examples=150, deadline=None)
@given(
    name=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"), max_size=20).filter(
        lambda n: n not in PROVIDERS
    )
    | st.sampled_from(["Zendesk", "zendesk ", "jira", "zendesk%00"]),
    body=st.binary(max_size=50),
)
def test_an_unknown_helpdesk_is_a_json_404(fuzz: Fuzz, name: str, body: bytes) -> None:
    reply = request(fuzz.port, "POST", "/webhooks/" + quote(name, safe=""), body, {}, timeout=30)
    fuzz.tally.statuses[reply.status] += 1
    check(reply, f"POST /webhooks/{name!r}")
    assert reply.status == 404


def test_the_database_holds_what_the_signed_requests_were_answered_for_and_nothing_else(fuzz: Fuzz) -> None:
    """Runs after the fuzzing (pytest keeps the file's order): checks what it left in the database. Every
    delivery kept must have its events stored (none left received for the sweep: the database took them)."""
    assert fuzz.ingest.flush(30), "every delivery answered to be in the database with its events"
    assert _received(fuzz.engine) == 0
    with fuzz.engine.connect() as connection:
        rows = connection.execute(
            select(
                WebhookDelivery.provider, WebhookDelivery.delivery_key, WebhookDelivery.status, WebhookDelivery.error
            )
        ).all()
    unexplained = [(p, k, s) for p, k, s, error in rows if s == "failed" and not (error or "").strip()]
    assert not unexplained, f"failed deliveries kept without a reason: {unexplained[:5]}"
    assert {status for _p, _k, status, _e in rows} <= {"parsed", "ignored", "failed"}
    held = Counter({provider: len(keys) for provider, keys in fuzz.tally.stored.items()})
    assert Counter(p for p, *_ in rows) == held, "deliveries stored other than the signed ones answered"
    stored_keys = {(p, k) for p, k, *_ in rows}
    for provider, keys in fuzz.tally.refused.items():
        # A refused body may also have been sent signed (each is) and kept then; never otherwise.
        leaked = {(provider, k[:128]) for k in keys - fuzz.tally.accepted.get(provider, set())} & stored_keys
        assert not leaked, f"deliveries stored from refused requests: {sorted(leaked)[:5]}"


def _received(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "received")
        ).scalar_one()
