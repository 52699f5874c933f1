"""Slash-command acknowledgement and App Home publish latency of `tandem serve` in a large workspace.

Seeds a fresh database with N members and T teams of about 20 (most with a digest channel and a manager,
some paused, some with problems for `/pulse status` to list), four closed rounds of history for 90% of the
teams (deliveries, round questions and the anonymous answers), 50 audit entries and a few helpdesk mappings.
make_user(0) (U00000000) is the workspace owner, so a Tandem admin. Then starts the Slack stand-in (in this
process) and the real `tandem serve`, warms it up, and measures, each over R requests sent one after
another and again from C concurrent clients (each request on a new connection):
  /pulse status, /pulse teams, /pulse teams page 13, /pulse team show "TEAM", /pulse help (by the admin):
      from connect to the HTTP response, which must be 200 with an ephemeral text of the expected kind;
  App Home of a plain member, a manager and an admin (concurrently: one Tandem admin per client): from sending
      the signed app_home_opened event until the stand-in (PublishWatch) receives that user's views.publish,
      with the event's HTTP acknowledgement alongside;
  /pulse team questions "TEAM" 4 (a write; each request on another team): as the commands above.
Targets (issue 4): p99 < 300 ms for /pulse status and /pulse teams; every command acknowledged within 3 s;
App Home published within 1 s of app_home_opened. Exits 0 when a target is missed (it is a measurement),
non-zero when the harness itself fails.

Run:  .venv/bin/python benchmarks/bench_commands.py [--members 20000] [--teams 1000] [--requests 200]
                                                     [--clients 8] [--database-url URL] [--only status,teams]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text, update  # noqa: E402

from benchmarks.bench_answers import rank, start_server  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from jobs.members import member_from_slack  # noqa: E402
from jobs.question_bank import load_default_bank  # noqa: E402
from storage.db import SessionFactory, make_engine, make_session_factory, transaction  # noqa: E402
from storage.helpdesk_map import map_agent, map_group  # noqa: E402
from storage.members import upsert_members  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Answer,
    AuditEntry,
    Delivery,
    Member,
    PulseRound,
    QuestionVersion,
    RoundQuestion,
)
from storage.questions import seed_questions  # noqa: E402
from storage.teams import add_team_members, create_team  # noqa: E402
from tests.pulse_payloads import slash_command  # noqa: E402
from tests.slack_signing import SIGNING_SECRET, event_callback, form_request, json_request  # noqa: E402
from tests.slack_standin import BOT_TOKEN, SlackStandin, dm_channel, make_user  # noqa: E402

ADMIN = "U00000000"  # make_user(0): the workspace's primary owner
TEAM_SIZE = 20
TEAMS_PAGE = 40  # bot/admin/overview.py
PREFIXES = ("Payments", "Support", "Platform", "Growth", "Mobile", "Data", "Design", "Sales", "Billing", "Search")
STATUS_P99_MS, COMMAND_MAX_MS, HOME_MAX_MS = 300.0, 3000.0, 1000.0
PUBLISH_TIMEOUT_S = 15.0
MEASUREMENTS = ("status", "teams", "teams13", "show", "help", "homemember", "homemanager", "homeadmin", "write")


def user_id(index: int) -> str:
    return f"U{index:08d}"


def team_name(t: int) -> str:
    return f"{PREFIXES[t % len(PREFIXES)]} {t:04d}"


# -- the workspace ----------------------------------------------------------------------------------
@dataclass
class World:
    teams: list[str]
    managers: list[str]  # Slack ids, one per team that has a manager
    plain: list[str]  # members in a team who are neither managers nor admins
    admins: list[str]  # ADMIN first, then members made Tandem admins (one per concurrent client)
    sizes: dict[str, int] = field(default_factory=dict)


def seed(factory: SessionFactory, members: int, teams: int, extra_admins: int, rounds: int) -> World:
    rng = random.Random(4)
    now = datetime.now(UTC)
    people = members - 1  # everyone but the admin is in a team
    if people < TEAM_SIZE:
        raise SystemExit("--members must be larger than a team")
    deleted = {i for i in range(1, members) if i % 41 == 40}
    opted_out = {i for i in range(1, members) if i % 29 == 28}
    admins = [ADMIN] + [user_id(members - 1 - k) for k in range(extra_admins)]
    with transaction(factory) as session:
        for start in range(0, members, 1000):
            users = [make_user(i, deleted=i in deleted) for i in range(start, min(start + 1000, members))]
            upsert_members(session, [r for u in users if (r := member_from_slack(u))], now)
        session.execute(
            update(Member).where(Member.slack_user_id.in_([user_id(i) for i in opted_out])).values(opted_out=True)
        )
        session.execute(update(Member).where(Member.slack_user_id.in_(admins[1:])).values(tandem_admin=True))
        ids = {slack_id: mid for slack_id, mid in session.execute(select(Member.slack_user_id, Member.id))}
        bank = load_default_bank()
        seed_questions(session, bank.all_questions(), now)
        questions = [(qid, scale) for qid, scale in session.execute(select(QuestionVersion.id, QuestionVersion.scale))]

    names, managers, plain = [], [], []
    team_people: dict[int, list[int]] = {}  # team id -> member indices
    team_ids: list[int] = []
    with transaction(factory) as session:
        for t in range(teams):
            size = 3 if t % 97 == 5 else TEAM_SIZE  # a few teams too small to ever show results
            indices = [1 + (t * TEAM_SIZE + j) % people for j in range(size)]
            if t % 10 == 0:  # some people are in two teams
                indices += [1 + ((t + 1) * TEAM_SIZE + j) % people for j in range(2)]
            manager = None if t % 50 == 49 else user_id(indices[0])
            start = 540 + 60 * (t % 4)
            team = create_team(
                session,
                team_name(t),
                now - timedelta(days=60),
                pulse_weekday=1 + t % 5,
                window_start_minute=start,
                window_end_minute=start + 120,
                every_weeks=(1, 1, 2, 4)[t % 4],
                paused=t % 20 == 19,
                manager_user_id=manager,
                channel_id=None if t % 10 == 3 else f"C{t:08d}",  # no digest channel: a problem to list
                channel_ok=t % 25 != 7,  # Tandem not in the channel: another
            )
            add_team_members(session, team.id, [ids[user_id(i)] for i in dict.fromkeys(indices)])
            names.append(team.name)
            team_ids.append(team.id)
            team_people[team.id] = indices
            if manager is not None:
                managers.append(manager)
            candidate = indices[min(5, size - 1)]  # not the manager (the first)
            if candidate not in deleted and user_id(candidate) not in admins:
                plain.append(user_id(candidate))
        # Four weeks of closed rounds for 90% of the teams (the rest are new).
        today = now.date()
        history = [tid for t, tid in enumerate(team_ids) if t % 10 != 9]
        round_rows = [
            {
                "team_id": tid,
                "number": number,
                "opened_on": (opened := today - timedelta(days=7 * (rounds + 1 - number))),
                "closes_at": (closes := datetime.combine(opened, datetime.min.time(), UTC) + timedelta(days=5)),
                "closed_at": closes,
                "anonymity_threshold": 5,
            }
            for tid in history
            for number in range(1, rounds + 1)
        ]
        round_ids: dict[tuple[int, int], int] = {}
        for chunk in chunks(round_rows, 2000):
            statement = insert(PulseRound).returning(PulseRound.id, PulseRound.team_id, PulseRound.number)
            for rid, tid, number in session.execute(statement, chunk):
                round_ids[(tid, number)] = rid
        round_question_rows, delivery_rows, answered_by_round = [], [], defaultdict(list)
        for (tid, number), rid in round_ids.items():
            opened = today - timedelta(days=7 * (rounds + 1 - number))
            due = datetime.combine(opened, datetime.min.time(), UTC) + timedelta(hours=10)
            asked = {
                g: [questions[(tid * 5 + number * 3 + g * 7 + k) % len(questions)] for k in range(3)] for g in (0, 1)
            }
            for g, qs in asked.items():
                round_question_rows += [{"round_id": rid, "group_no": g, "question_id": q} for q, _scale in qs]
            for j, i in enumerate(dict.fromkeys(team_people[tid])):
                if i in deleted or i in opted_out:
                    continue
                answered = rng.random() < 0.7
                delivery_rows.append(
                    {
                        "round_id": rid,
                        "member_id": ids[user_id(i)],
                        "group_no": j % 2,
                        "status": "closed",
                        "channel_id": dm_channel(user_id(i)),
                        "message_ts": f"{due.timestamp():.0f}.{j:06d}",
                        "due_at": due,
                        "attempts": 1,
                        "sent_at": due,
                        "answered": answered,
                        "skipped": not answered and rng.random() < 0.3,
                    }
                )
                if answered:
                    answered_by_round[rid].append(asked[j % 2])
        answer_rows = [
            {
                "id": uuid.uuid4().hex,
                "round_id": rid,
                "question_id": q,
                "value": rng.randint(0, 10) if scale == "enps" else rng.randint(1, 5),
                "delivery_id": None,  # closing a round erases the link to the delivery
            }
            for rid, asked_lists in answered_by_round.items()
            if len(asked_lists) >= 5  # closing drops results of rounds under k
            for qs in asked_lists
            for q, scale in qs
        ]
        for table, rows in ((RoundQuestion, round_question_rows), (Delivery, delivery_rows), (Answer, answer_rows)):
            for chunk in chunks(rows, 5000):
                session.execute(insert(table), chunk)
        for n in range(50):
            action = ("team.create", "team.channel", "schedule", "team.manager", "team.add")[n % 5]
            session.add(
                AuditEntry(
                    at=now - timedelta(hours=50 - n),
                    actor_user_id=ADMIN,
                    action=action,
                    detail=f"{action} on {team_name(n % teams)}",
                )
            )
        for n in range(1, 6):
            map_agent(session, f"agent{n}@example.com", ids[user_id(n)], now)
        for n in range(3):
            map_group(session, f"Tier {n + 1} {PREFIXES[n]}", team_ids[n], now)
    sizes = {
        "members": members,
        "teams": teams,
        "rounds": len(round_rows),
        "deliveries": len(delivery_rows),
        "answers": len(answer_rows),
        "round_questions": len(round_question_rows),
    }
    return World(names, managers, plain, admins, sizes)


def chunks(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# -- the Slack stand-in, noting when each views.publish arrives ----------------------------------------
class PublishWatch(SlackStandin):
    """The stand-in, also noting (time.monotonic()) when each user's accepted views.publish call was received."""

    def __init__(self) -> None:
        super().__init__()
        self.published: dict[str, list[float]] = defaultdict(list)
        self._arrived = threading.Condition()

    def answer(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        at = time.monotonic()
        answer = super().answer(method, body, headers)
        # Only a Home that stands counts: one refused with hash_conflict is followed by a fresh publish.
        if method == "views.publish" and answer.body.get("ok"):
            with self._arrived:
                self.published[str(body.get("user_id"))].append(at)
                self._arrived.notify_all()
        return answer

    def count(self, user: str) -> int:
        with self._arrived:
            return len(self.published[user])

    def wait(self, user: str, seen: int, timeout: float) -> float | None:
        """When the user's publish number `seen` (0-based) arrived, waiting up to `timeout` s for it."""
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self.published[user]) > seen, timeout):
                return self.published[user][seen]
        return None


# -- requests -------------------------------------------------------------------------------------------
def post(port: int, body: bytes, headers: dict[str, str], request_id: str) -> tuple[float, str, bytes]:
    """One POST /slack/events on a new connection: (ms from connect to response, status, body)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body, {**headers, "X-Request-Id": request_id})
        response = connection.getresponse()
        data, status = response.read(), str(response.status)
    except OSError as error:
        data, status = b"", type(error).__name__
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, status, data


Outcome = tuple[float | None, str | None, float | None]  # latency ms, error, HTTP ack ms (App Home only)
Probe = Callable[[int, int, str], Outcome]  # (request number, client number, request id) -> outcome


def command_probe(port: int, standin: SlackStandin, words: Callable[[int], tuple[str, str]]) -> Probe:
    """`/pulse <words(i)[0]>` by the admin; the answer must be an ephemeral text starting with words(i)[1]."""

    def probe(i: int, _client: int, request_id: str) -> Outcome:
        said, expected = words(i)
        fields = {
            **slash_command(ADMIN, said),
            "response_url": standin.base_url + "_response/x",
            "trigger_id": f"{int(time.time())}.{i}.{uuid.uuid4().hex[:12]}",
        }
        ms, status, data = post(port, *form_request(fields), request_id)
        if status != "200":
            return ms, f"HTTP {status}", None
        try:
            answer = json.loads(data)
        except ValueError:
            return ms, f"not JSON: {data[:60]!r}", None
        if answer.get("response_type") != "ephemeral" or not answer.get("text"):
            return ms, f"not an ephemeral text: {data[:60]!r}", None
        if not str(answer["text"]).startswith(expected):
            return ms, f"unexpected text: {str(answer['text'])[:70]!r}", None
        return ms, None, None

    return probe


def home_probe(port: int, standin: PublishWatch, user_of: Callable[[int, int], str]) -> Probe:
    """app_home_opened for user_of(i, client); latency: from sending until the stand-in has the views.publish."""

    def probe(i: int, client: int, request_id: str) -> Outcome:
        user = user_of(i, client)
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        body, headers = json_request(event_callback(event, f"Ev{uuid.uuid4().hex[:16].upper()}"))
        seen = standin.count(user)
        started = time.monotonic()
        ack_ms, status, _data = post(port, body, headers, request_id)
        if status != "200":
            return None, f"HTTP {status}", ack_ms
        arrived = standin.wait(user, seen, PUBLISH_TIMEOUT_S)
        if arrived is None:
            return None, f"no views.publish within {PUBLISH_TIMEOUT_S:.0f} s", ack_ms
        return (arrived - started) * 1000, None, ack_ms

    return probe


@dataclass
class Result:
    name: str
    mode: str
    key: str  # request id prefix, to find the server's log lines
    latencies: list[float]
    acks: list[float]
    errors: Counter[str]
    seconds: float

    @property
    def sent(self) -> int:
        return len(self.latencies) + sum(self.errors.values())


def measure(name: str, key: str, probe: Probe, requests: int, clients: int) -> Result:
    """`requests` requests with `clients` clients (each sending its share one after another)."""
    latencies: list[float] = []
    acks: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    mode = "sequential" if clients == 1 else f"{clients} clients"

    def client(c: int) -> None:
        barrier.wait()
        for i in range(c, requests, clients):
            ms, error, ack = probe(i, c, f"{key}-{clients}-{i}")
            with lock:
                if error is None and ms is not None:
                    latencies.append(ms)
                else:
                    errors[error or "no latency"] += 1
                if ack is not None:
                    acks.append(ack)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(name, mode, key, latencies, acks, errors, time.monotonic() - started)


def fmt(values: list[float], p: float) -> str:
    return f"{rank(values, p):8.1f}" if values else f"{'-':>8}"


def server_latencies(log_path: Path) -> dict[str, list[float]]:
    """The server's own request latency (its JSON request log) by request id prefix (name-clients)."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in log_path.read_text().splitlines():
        if '"latency_ms"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        request_id = str(entry.get("request_id", ""))
        if request_id.count("-") == 2:
            found[request_id.rsplit("-", 1)[0]].append(float(entry["latency_ms"]))
    return found


def report(results: list[Result], log_path: Path) -> list[tuple[str, str, bool]]:
    server = server_latencies(log_path)
    print()
    print(
        f"{'measurement':<42}{'mode':<12}{'n':>5}{'err':>5}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        f"   {'server p99':>10}  {'req/s':>6}  (ms; server p99: from its request log)"
    )
    for r in results:
        own = server.get(f"{r.key}-{1 if r.mode == 'sequential' else r.mode.split()[0]}", [])
        rate = r.sent / r.seconds if r.seconds else math.nan
        print(
            f"{r.name:<42}{r.mode:<12}{r.sent:>5}{sum(r.errors.values()):>5}"
            f"{fmt(r.latencies, 50)}{fmt(r.latencies, 95)}{fmt(r.latencies, 99)}{fmt(r.latencies, 100)}"
            f"   {fmt(own, 99):>10}  {rate:6.1f}"
        )
        if r.acks:
            print(
                f"{'  its HTTP acknowledgement (App Home)':<42}{r.mode:<12}{len(r.acks):>5}{'':>5}"
                f"{fmt(r.acks, 50)}{fmt(r.acks, 95)}{fmt(r.acks, 99)}{fmt(r.acks, 100)}"
            )
    for r in results:
        for error, count in r.errors.most_common(3):
            print(f"errors in {r.name} ({r.mode}): {count} x {error}")

    verdicts = []
    for r in results:
        ok = not r.errors
        if r.key in ("status", "teams", "teams13"):
            p99 = rank(r.latencies, 99) if r.latencies else math.inf
            verdicts.append(
                (f"{r.name} ({r.mode}): p99 < {STATUS_P99_MS:.0f} ms", f"p99 {p99:.1f} ms", ok and p99 < STATUS_P99_MS)
            )
        if r.key.startswith("home"):
            worst = max(r.latencies, default=math.inf)
            verdicts.append(
                (f"{r.name} ({r.mode}): every one within 1 s", f"max {worst:.1f} ms", ok and worst < HOME_MAX_MS)
            )
    commands = [r for r in results if not r.key.startswith("home")]
    worst = max((max(r.latencies, default=0.0) for r in commands), default=math.inf)
    failed = sum(sum(r.errors.values()) for r in commands)
    if commands:  # --only may have chosen App Home runs alone
        verdicts.append(
            (
                "every command acknowledged within 3 s (all command runs)",
                f"max {worst:.1f} ms, {failed} errors",
                failed == 0 and worst < COMMAND_MAX_MS,
            )
        )
    print()
    print(f"{'target':<70}{'measured':<28}verdict")
    for target, measured, passed in verdicts:
        print(f"{target:<70}{measured:<28}{'PASS' if passed else 'FAIL'}")
    return verdicts


# -- main ----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--teams", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement and mode")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the concurrent runs")
    parser.add_argument("--rounds", type=int, default=4, help="closed rounds of history per team (90%% of them)")
    parser.add_argument("--warmup", type=int, default=8, help="warm-up requests of each kind, sent concurrently")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file; PostgreSQL: a new schema")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated measurement keys to run (status, teams, teams13, show, help, homemember, "
        "homemanager, homeadmin, write); default: all",
    )
    options = parser.parse_args()
    if options.teams < 2 or options.requests < 1 or options.clients < 1:
        raise SystemExit("--teams must be 2 or more, --requests and --clients 1 or more")
    only = {key.strip() for key in options.only.split(",") if key.strip()}
    unknown = only - set(MEASUREMENTS)
    if unknown:
        raise SystemExit(
            f"--only: unknown measurement {', '.join(sorted(unknown))}; choose from {', '.join(MEASUREMENTS)}"
        )

    command = shlex.join([sys.executable, *sys.argv])
    work = Path(tempfile.mkdtemp(prefix="tandem-commands-bench-"))
    url, schema = options.database_url or f"sqlite:///{work / 'tandem.db'}", ""
    if options.database_url:  # a schema of its own, dropped afterwards (as tests/conftest.py does)
        schema = f"bench_commands_{uuid.uuid4().hex[:8]}"
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += f"{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = int(free.getsockname()[1])
    standin = PublishWatch()
    standin.record_calls = False  # publish times are noted by PublishWatch; bodies are not kept
    standin.start()
    env = {
        "PATH": os.environ["PATH"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "TANDEM_SLACK_API_URL": standin.base_url,
        "TANDEM_DATABASE_URL": url,
        "TANDEM_PORT": str(port),
        "TANDEM_SCHEDULER": "off",
        "TANDEM_LOG_FORMAT": "json",
        **{k: v for k, v in os.environ.items() if k in ("TANDEM_WORKERS", "TANDEM_THREADS")},
    }
    server = None
    try:
        upgrade(engine)
        started = time.monotonic()
        world = seed(factory, options.members, options.teams, max(options.clients, 1), options.rounds)
        seeded = time.monotonic() - started
        server = start_server(env, work, port)
        teams, n, clients = world.teams, options.requests, options.clients
        last_page = math.ceil(len(teams) / TEAMS_PAGE)
        page = min(13, last_page)
        writes = iter(range(10**9))  # each write changes another team (their default is 3 questions)

        def write(_i: int) -> tuple[str, str]:
            name = teams[(len(teams) // 2 + next(writes)) % len(teams)]
            return f'team questions "{name}" 4', f"*{name}*'s pulses ask 4 questions"

        commands: list[tuple[str, str, Probe]] = [
            ("/pulse status", "status", command_probe(port, standin, lambda i: ("status", "*Tandem status*"))),
            ("/pulse teams", "teams", command_probe(port, standin, lambda i: ("teams", "*Teams* (page 1;"))),
            (
                f"/pulse teams page {page}",
                "teams13",
                command_probe(port, standin, lambda i: (f"teams page {page}", f"*Teams* (page {page};")),
            ),
            (
                '/pulse team show "TEAM"',
                "show",
                command_probe(
                    port, standin, lambda i: (f'team show "{teams[i % len(teams)]}"', f"*{teams[i % len(teams)]}*")
                ),
            ),
            ("/pulse help", "help", command_probe(port, standin, lambda i: ("help", "*Tandem's /pulse commands*"))),
        ]
        homes: list[tuple[str, str, Probe]] = [
            ("App Home, plain member", "homemember", home_probe(port, standin, lambda i, c: pick(world.plain, i))),
            ("App Home, manager", "homemanager", home_probe(port, standin, lambda i, c: pick(world.managers, i))),
            # Sequential: the owner each time; concurrent: one admin per client, so publishes cannot be confused.
            ("App Home, admin", "homeadmin", home_probe(port, standin, lambda i, c: world.admins[c])),
        ]
        writing = ('/pulse team questions "TEAM" 4 (write)', "write", command_probe(port, standin, write))
        chosen = [m for m in [*commands, *homes, writing] if not only or m[1] in only]

        for _name, key, probe in chosen:  # each worker imports and connects on first use
            measure(_name, f"warm{key}", probe, options.warmup, min(options.warmup, clients))
        drain(standin, ADMIN)

        print(f"command: {command}")
        effective = load_settings(env, env_file=None)
        sizing = f"tandem serve: {effective.workers} workers x {effective.threads} threads"
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start (other work runs "
            f"too); database: {engine.dialect.name}; {sizing}; seeded in {seeded:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in world.sizes.items())
        )
        print(
            f"latency: commands from connect to HTTP response; App Home from sending app_home_opened until the "
            f"stand-in received views.publish. Warm-up: {options.warmup} of each kind."
        )
        results: list[Result] = []
        for name, key, probe in chosen:
            for c in (1, clients):
                results.append(measure(name, key, probe, n, c))
                print(f"  measured {name} ({results[-1].mode}) in {results[-1].seconds:.1f} s", flush=True)
        refreshes = drain(standin, ADMIN)
        print(f"after the writes: the admin's Home refreshes took {refreshes:.1f} s more to reach the stand-in")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        report(results, work / "serve.log")
        errors = [line for line in (work / "serve.log").read_text().splitlines() if '"level": "ERROR"' in line]
        print(f"server log: {len(errors)} ERROR lines" + "".join(f"\n  {line[:300]}" for line in errors[:3]))
        print(f"command: {command}")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(60)
        standin.stop()
        engine.dispose()
        if schema:
            with create_engine(options.database_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        shutil.rmtree(work, ignore_errors=True)


def pick(users: list[str], i: int) -> str:
    return users[i % len(users)]


def drain(standin: PublishWatch, user: str, quiet: float = 1.0) -> float:
    """Wait until no views.publish for `user` has arrived for `quiet` s; returns how long that took, minus it."""
    started = time.monotonic()
    count = standin.count(user)
    while True:
        time.sleep(quiet)
        now = standin.count(user)
        if now == count:
            return time.monotonic() - started - quiet
        count = now


if __name__ == "__main__":
    main()
