"""A local Slack Web API stand-in: a threaded HTTP server on port 0 that answers like Slack does.

It implements the methods Tandem calls with realistic responses (shapes from
../shared/fixtures/slack/webapi), records every call with its decoded body, and can be told to
answer an error (`account_inactive`, `channel_not_found`, …) or a 429 with Retry-After. The app
under test reaches it through the real slack_sdk client (`TANDEM_SLACK_API_URL` / `base_url`).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_TOKEN = "xoxb-1234-5678-tandemtest"
TEAM_ID = "T0TANDEM1"
BOT_USER_ID = "U0TANDEMBOT"
BOT_ID = "B0TANDEMBOT"

Handler = Callable[["SlackStandin", dict[str, Any]], dict[str, Any]]


class _Server(ThreadingHTTPServer):
    # A deep accept queue: with the default of 5, bursts of connections overflow and the kernel makes
    # the client retry after a second, which would look like a slow Slack.
    request_queue_size = 128


@dataclass
class RecordedCall:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class SlackStandin:
    def __init__(self, users: list[dict[str, Any]] | None = None, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.users: list[dict[str, Any]] = list(users or [])
        self.calls: list[RecordedCall] = []
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes POSTed to its upload_url
        # file id -> what files.getUploadURLExternal and files.completeUploadExternal were told (see _upload_url)
        self.files: dict[str, dict[str, Any]] = {}
        # Slack finishes an upload asynchronously: this many chat.postMessage calls naming a new file in an
        # image block are refused with invalid_blocks before it is ready (real Slack: about a second).
        self.file_ready_after = 0
        self.upload_failures = 0  # the next this many POSTs to an upload_url answer HTTP 500
        self._scripted: dict[str, deque[_Scripted]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> messages posted there
        self.usergroups: dict[str, list[str]] = {}  # user group id (S…) -> its members' user ids
        # channel id -> {"name", "members", "is_member", "is_archived", "is_private"} (see add_channel)
        self.channels: dict[str, dict[str, Any]] = {}
        self.posts_per_user: dict[str, int] = {}
        self.post_limit: int | None = None  # chat.postMessage answers 429 above this many per second
        self._recent_posts: deque[float] = deque()
        self.rate_limited_posts = 0
        self.record_calls = True  # off for long benchmarks: counts are kept, bodies are not
        self.homes: dict[str, dict[str, Any]] = {}  # user id -> their App Home as last published (with its hash)
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> SlackStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def response_url(self, key: str) -> str:
        """A slash command's response_url that lands here (recorded as calls to "response_url")."""
        return self.base_url.replace("/api/", f"/response/{key}")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    # -- scripting -----------------------------------------------------------------------------
    def fail(self, method: str, error: str, times: int = 1, **details: Any) -> None:
        """The next `times` calls to `method` answer HTTP 200 {"ok": false, "error": error, **details}
        (details such as invalid_blocks' "errors")."""
        for _ in range(times):
            self._script(method, _Scripted(200, {"ok": False, "error": error, **details}, {}))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with Retry-After, as Slack does."""
        for _ in range(times):
            self._script(
                method, _Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            )

    def add_channel(
        self, channel_id: str, name: str, members: list[str], bot_is_member: bool = True, **flags: bool
    ) -> None:
        """A channel as conversations.info/members show it; Tandem's bot user is listed among the members
        when it is in the channel, as Slack lists it. `flags`: is_archived, is_private."""
        listed = [*members, BOT_USER_ID] if bot_is_member and BOT_USER_ID not in members else list(members)
        with self._lock:
            self.channels[channel_id] = {"name": name, "members": listed, "is_member": bot_is_member, **flags}

    def _script(self, method: str, answer: _Scripted) -> None:
        with self._lock:
            self._scripted.setdefault(method, deque()).append(answer)

    # -- inspection ----------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        """The user's App Home as Slack shows it now (the last views.publish accepted), hash included."""
        with self._lock:
            home = self.homes.get(user_id)
            return dict(home) if home is not None else None

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, saw {len(self.calls_to(method))}")

    # -- answering -----------------------------------------------------------------------------
    def answer(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> _Scripted:
        with self._lock:
            if self.record_calls:
                self.calls.append(RecordedCall(method, body, headers))
            queue = self._scripted.get(method)
            if queue:
                return queue.popleft()
            if method == "chat.postMessage" and self.post_limit is not None and self._over_post_limit():
                self.rate_limited_posts += 1
                return _Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        if headers.get("authorization") != f"Bearer {self.token}":
            return _Scripted(
                200, {"ok": False, "error": "not_authed" if "authorization" not in headers else "invalid_auth"}, {}
            )
        handler = METHODS.get(method)
        if handler is None:
            return _Scripted(200, {"ok": False, "error": "unknown_method"}, {})
        return _Scripted(200, {"ok": True, **handler(self, body)}, {})

    def _over_post_limit(self) -> bool:
        """A sliding one-second window, like Slack's per-method limits (caller holds the lock)."""
        now = time.monotonic()
        while self._recent_posts and self._recent_posts[0] <= now - 1.0:
            self._recent_posts.popleft()
        if len(self._recent_posts) >= (self.post_limit or 0):
            return True
        self._recent_posts.append(now)
        return False

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "posts_per_user": dict(self.posts_per_user),
                "rate_limited_posts": self.rate_limited_posts,
                "updates": sum(1 for c in self.calls if c.method == "chat.update"),
            }

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


def _make_handler(standin: SlackStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/upload/"):  # files_upload_v2's step 2: raw bytes, no token
                with standin._lock:
                    failing = standin.upload_failures > 0
                    standin.upload_failures -= failing
                    if not failing:
                        standin.uploads[self.path.removeprefix("/upload/")] = raw
                if failing:
                    self._send(500, b"Internal Server Error", "text/plain")
                else:
                    self._send(200, b"OK - %d" % len(raw), "text/plain")
                return
            if self.path.startswith("/response/"):  # a slash command's response_url: Slack shows the text
                body = json.loads(raw or b"{}")
                with standin._lock:
                    standin.calls.append(RecordedCall("response_url", {"path": self.path, **body}, {}))
                self._send(200, b"ok", "text/plain")
                return
            if self.path == "/_standin/stats":
                self._send(200, json.dumps(standin.stats()).encode(), "application/json")
                return
            method = self.path.removeprefix("/api/").split("?", 1)[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = _decode(raw, headers.get("content-type", ""))
            if "?" in self.path:  # GET methods (conversations.history) carry their arguments in the query
                body.update({k: v[0] for k, v in parse_qs(self.path.split("?", 1)[1]).items()})
            answer = standin.answer(method, body, headers)
            payload = json.dumps(answer.body).encode()
            self._send(answer.status, payload, "application/json; charset=utf-8", answer.headers)

        do_GET = do_POST

        def _send(self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(raw)
    return {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}


# -- methods ------------------------------------------------------------------------------------
def _auth_test(_s: SlackStandin, _b: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://tandem-test.slack.com/",
        "team": "Tandem Test",
        "user": "tandem",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _users_list(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    limit = max(1, min(int(b.get("limit") or 100), 1000))
    cursor = b.get("cursor") or ""
    offset = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    page = s.users[offset : offset + limit]
    following = offset + limit
    next_cursor = base64.b64encode(f"user:{following}".encode()).decode() if following < len(s.users) else ""
    return {"members": page, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": next_cursor}}


def _users_info(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    for user in s.users:
        if user["id"] == b.get("user"):
            return {"user": user}
    raise _Error("user_not_found")


def _usergroup_users(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    with s._lock:
        users = s.usergroups.get(str(b.get("usergroup") or ""))
    if users is None:
        raise _Error("no_such_subteam")
    return {"users": list(users)}


def _visible_channel(s: SlackStandin, channel_id: str) -> dict[str, Any]:
    """Private channels Tandem is not in look exactly like channels that do not exist, as in Slack."""
    with s._lock:
        channel = s.channels.get(channel_id)
        channel = dict(channel) if channel is not None else None
    if channel is None or (channel.get("is_private") and not channel.get("is_member")):
        raise _Error("channel_not_found")
    return channel


def _conversations_members(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    members = list(_visible_channel(s, str(b.get("channel") or ""))["members"])
    limit = max(1, min(int(b.get("limit") or 100), 1000))
    cursor = b.get("cursor") or ""
    offset = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    following = offset + limit
    next_cursor = base64.b64encode(f"member:{following}".encode()).decode() if following < len(members) else ""
    return {"members": members[offset:following], "response_metadata": {"next_cursor": next_cursor}}


def _conversations_info(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    channel_id = str(b.get("channel") or "")
    channel = _visible_channel(s, channel_id)
    private = bool(channel.get("is_private"))
    return {
        "channel": {
            "id": channel_id,
            "name": channel["name"],
            "is_channel": not private,
            "is_group": False,
            "is_im": False,
            "is_private": private,
            "is_archived": bool(channel.get("is_archived")),
            "is_member": bool(channel.get("is_member")),
            "is_general": False,
            "created": 1_700_000_000,
            "creator": "U00000000",
            "name_normalized": channel["name"],
        }
    }


def dm_channel(user_id: str) -> str:
    """The id of the app's DM with a user, stable like Slack's."""
    return "D" + user_id.removeprefix("U").removeprefix("W")[:10]


def _conversations_open(_s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    return {"channel": {"id": dm_channel(str(b.get("users") or ""))}}


def _post_message(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    blocks = b.get("blocks") or []
    if isinstance(blocks, str):  # form-encoded calls send blocks as a JSON string
        blocks = json.loads(blocks)
    _check_slack_files(s, blocks)
    ts = s.next_ts()
    channel = str(b.get("channel") or "")
    if channel[:1] in ("U", "W"):  # posting to a user id lands in the app's DM with them
        with s._lock:
            s.posts_per_user[channel] = s.posts_per_user.get(channel, 0) + 1
        channel = dm_channel(channel)
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": b.get("text", ""),
        "ts": ts,
        "bot_id": BOT_ID,
        "blocks": b.get("blocks", []),
    }
    if b.get("thread_ts"):
        message["thread_ts"] = b["thread_ts"]
    metadata = b.get("metadata")
    if metadata:
        message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
    with s._lock:
        # Benchmarks (record_calls off) keep only what a history lookup needs: full blocks for 10,000
        # DMs would make the stand-in's garbage collector pause and bunch requests up.
        kept = message if s.record_calls else {k: message[k] for k in ("ts", "metadata") if k in message}
        s.history.setdefault(channel, []).append(kept)
    return {"channel": channel, "ts": ts, "message": message}


def _history(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    oldest = float(b.get("oldest") or 0)
    with s._lock:
        messages = [m for m in s.history.get(str(b.get("channel")), []) if float(m["ts"]) > oldest]
    if str(b.get("include_all_metadata", "")).lower() not in ("1", "true"):
        messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
    return {"messages": list(reversed(messages)), "has_more": False}


def _update(_s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": b.get("channel"),
        "ts": b.get("ts"),
        "text": b.get("text", ""),
        "message": {"text": b.get("text", ""), "blocks": b.get("blocks", [])},
    }


def _ephemeral(s: SlackStandin, _b: dict[str, Any]) -> dict[str, Any]:
    return {"message_ts": s.next_ts()}


def _view(_s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    view = b.get("view")
    view = json.loads(view) if isinstance(view, str) else dict(view or {})
    return {"view": {"id": "V0STANDIN1", "team_id": TEAM_ID, "state": {"values": {}}, "hash": "1.abc", **view}}


def _publish(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    """views.publish as Slack answers it: every Home published gets a hash of its own, and a publish that
    names a `hash` other than the user's current Home's is refused with hash_conflict (a newer one came
    in since). Without `hash` it always replaces the Home. `homes` keeps each user's current Home."""
    user = str(b.get("user_id") or "")
    seen = b.get("hash")
    published = _view(s, b)["view"]
    with s._lock:
        current = s.homes.get(user)
        if seen and (current is None or current["hash"] != seen):
            raise _Error("hash_conflict")
        published["hash"] = f"{int(time.time())}.{next(s._ts):08x}"
        s.homes[user] = published
    return {"view": published}


IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")  # what image blocks show


def _check_slack_files(s: SlackStandin, blocks: list[dict[str, Any]]) -> None:
    """Image blocks may name a Slack file by id only once it is uploaded, completed, an image, and
    processed; otherwise Slack answers invalid_blocks pointing at the block (as in slackapi/python-slack-sdk
    #1658). Slack's processing time is played by `file_ready_after`."""
    errors = []
    with s._lock:
        for index, block in enumerate(blocks):
            file_id = (block.get("slack_file") or {}).get("id") if block.get("type") == "image" else None
            if file_id is None:
                continue
            known = s.files.get(file_id)
            data = s.uploads.get(file_id, b"")
            ready = known is not None and known["completed"] and data.startswith(IMAGE_SIGNATURES)
            if ready and known["refusals_left"] > 0:
                known["refusals_left"] -= 1
                ready = False
            if not ready:
                errors.append(f"invalid slack file [json-pointer:/blocks/{index}/slack_file]")
    if errors:
        raise _Error("invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})


def _upload_url(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    if not b.get("filename") or not str(b.get("length") or "").isdigit():
        raise _Error("invalid_arguments")
    file_id = f"F{next(s._ts):08d}"
    with s._lock:
        s.files[file_id] = {
            "id": file_id,
            "name": b["filename"],
            "length": int(b["length"]),
            "alt_txt": b.get("alt_txt", ""),
            "title": "",
            "completed": False,
            "refusals_left": s.file_ready_after,
            "shared_to": [],  # (channel, thread_ts or None)
        }
    return {"upload_url": s.base_url.replace("/api/", f"/upload/{file_id}"), "file_id": file_id}


def _complete_upload(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
    files = json.loads(b.get("files") or "[]")
    channel = str(b.get("channel_id") or "")
    thread_ts = b.get("thread_ts") or None
    with s._lock:
        for f in files:
            known = s.files.get(f.get("id", ""))
            if known is None or known["length"] != len(s.uploads.get(known["id"], b"")):
                raise _Error("file_not_found")  # never issued, or its bytes did not all arrive
        for f in files:
            s.files[f["id"]].update(completed=True, title=f.get("title") or s.files[f["id"]]["name"])
    completed = [{"id": f["id"], "name": s.files[f["id"]]["name"], "title": s.files[f["id"]]["title"]} for f in files]
    if channel:  # shared: a message of its own in the channel (or thread); without a channel the file is private
        message: dict[str, Any] = {
            "type": "message",
            "text": b.get("initial_comment") or "",
            "ts": s.next_ts(),
            "bot_id": BOT_ID,
            "files": completed,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        with s._lock:
            s.history.setdefault(channel, []).append(message)
            for f in files:
                s.files[f["id"]]["shared_to"].append((channel, thread_ts))
    # As Slack does, the answer does not wait for the share: the files' channels are filled in later.
    return {"files": completed}


class _Error(Exception):
    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.details = details


def _guard(handler: Handler) -> Handler:
    def guarded(s: SlackStandin, b: dict[str, Any]) -> dict[str, Any]:
        try:
            return handler(s, b)
        except _Error as error:
            return {"ok": False, "error": str(error), **error.details}

    return guarded


METHODS: dict[str, Handler] = {
    name: _guard(handler)
    for name, handler in {
        "auth.test": _auth_test,
        "users.list": _users_list,
        "users.info": _users_info,
        "conversations.open": _conversations_open,
        "conversations.members": _conversations_members,
        "conversations.info": _conversations_info,
        "usergroups.users.list": _usergroup_users,
        "conversations.history": _history,
        "chat.postMessage": _post_message,
        "chat.update": _update,
        "chat.postEphemeral": _ephemeral,
        "views.open": _view,
        "views.publish": _publish,
        "views.update": _view,
        "views.push": _view,
        "files.getUploadURLExternal": _upload_url,
        "files.completeUploadExternal": _complete_upload,
    }.items()
}


# -- synthetic people ---------------------------------------------------------------------------
TIME_ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo")


def make_user(index: int, *, deleted: bool = False, bot: bool = False, tz: str | None = None) -> dict[str, Any]:
    """A users.list member object shaped like ../shared/fixtures/slack/webapi/users.list.ok.json."""
    user_id = f"U{index:08d}"
    name = f"person{index}"
    zone = tz or TIME_ZONES[index % len(TIME_ZONES)]
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": deleted,
        "real_name": f"Person {index}",
        "tz": zone,
        "tz_label": zone,
        "tz_offset": 0,
        "is_admin": index == 0,
        "is_owner": index == 0,
        "is_primary_owner": index == 0,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": bot,
        "is_app_user": False,
        "updated": 1_700_000_000 + index,
        "profile": {
            "real_name": f"Person {index}",
            "display_name": name,
            **({} if bot else {"email": f"{name}@example.com"}),
        },
    }


def slackbot() -> dict[str, Any]:
    return {
        "id": "USLACKBOT",
        "team_id": TEAM_ID,
        "name": "slackbot",
        "deleted": False,
        "real_name": "Slackbot",
        "tz": "America/Los_Angeles",
        "is_bot": False,
        "is_app_user": False,
        "profile": {"real_name": "Slackbot"},
    }


def main() -> None:
    """Run the stand-in as its own process (benchmarks): prints its base URL, serves until killed."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="Slack Web API stand-in")
    parser.add_argument("--post-limit", type=int, default=0, help="429 chat.postMessage above this many per second")
    options = parser.parse_args()
    standin = SlackStandin()
    standin.record_calls = False
    standin.post_limit = options.post_limit or None
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # so sigwait receives them
    standin.start()
    print(standin.base_url, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    standin.stop()


if __name__ == "__main__":
    main()
