"""Pure checks on an inbound Slack request: is it really from Slack, and is its body well formed?

Signatures are checked on the raw bytes, before anything is parsed or stored
(https://api.slack.com/authentication/verifying-requests-from-slack).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from bot.wsgi import RejectedRequest

# Slack's replay window: a timestamp further than this from our clock, either way, is refused.
MAX_CLOCK_SKEW_SECONDS = 60 * 5


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise RejectedRequest(401) unless the request carries a fresh, valid Slack signature."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not timestamp or not signature:
        raise RejectedRequest(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise RejectedRequest(401, "X-Slack-Request-Timestamp is not a Unix time") from None
    if abs(now - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        raise RejectedRequest(401, "request timestamp is more than 5 minutes off: check the server clock")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise RejectedRequest(401, "signature does not match: check SLACK_SIGNING_SECRET")


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The request's payload as a dict, in whichever of Slack's three shapes it came; 400 if malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RejectedRequest(400, "body is not UTF-8") from None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return _json_object(text, "body")
    if media_type == "application/x-www-form-urlencoded":
        try:
            fields = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, strict_parsing=True).items()}
        except ValueError:
            raise RejectedRequest(400, "form body is not valid URL encoding") from None
        if "payload" in fields:
            return _json_object(fields["payload"], "payload field")
        if "command" in fields or "ssl_check" in fields:
            return fields
        raise RejectedRequest(400, "form body has neither a payload nor a command field")
    raise RejectedRequest(400, f"unsupported Content-Type {media_type or '(none)'!r}")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise RejectedRequest(400, f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise RejectedRequest(400, f"{what} is not a JSON object")
    if not isinstance(value.get("type"), str):
        raise RejectedRequest(400, f"{what} has no 'type'")
    return value
