"""Sign requests exactly as Slack does (written here independently of the code under test)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def slack_headers(
    body: bytes, content_type: str, secret: str = SIGNING_SECRET, ts: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def json_request(payload: dict[str, Any], **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, slack_headers(body, "application/json", **kwargs)


def form_request(fields: dict[str, str], **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    return body, slack_headers(body, "application/x-www-form-urlencoded", **kwargs)


def interaction_request(payload: dict[str, Any], **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    return form_request({"payload": json.dumps(payload)}, **kwargs)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / "slack" / name).read_text())


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An Events API envelope shaped like ../shared/fixtures/slack/event_app_home_opened_home_tab.bolt.json."""
    envelope = fixture("event_app_home_opened_home_tab.bolt.json")
    envelope.update(event=event, event_id=event_id, event_time=int(time.time()))
    return envelope
