from __future__ import annotations

import pytest

from bot.slack_requests import RejectedRequest, parse_body, sign, verify_signature
from tests.slack_signing import FIXTURES, SIGNING_SECRET, slack_headers

# Slack's documented worked example (docs: verifying requests from Slack).
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_it_computes_slacks_documented_example_signature() -> None:
    assert sign(SIGNING_SECRET, "1531420618", DOC_BODY) == DOC_SIGNATURE


def test_it_accepts_a_freshly_signed_request() -> None:
    body = b'{"type":"url_verification"}'
    verify_signature(SIGNING_SECRET, slack_headers(body, "application/json", ts=1_000_000), body, 1_000_000)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong secret", "signature does not match: check SLACK_SIGNING_SECRET"),
        ("altered body", "signature does not match: check SLACK_SIGNING_SECRET"),
        ("301 seconds old", "request timestamp is more than 5 minutes off: check the server clock"),
        ("301 seconds ahead", "request timestamp is more than 5 minutes off: check the server clock"),
        ("no headers", "missing X-Slack-Signature or X-Slack-Request-Timestamp header"),
        ("garbage timestamp", "X-Slack-Request-Timestamp is not a Unix time"),
    ],
)
def test_it_refuses_requests_slack_did_not_sign_just_now(case: str, reason: str) -> None:
    now, body = 1_000_000, b'{"type":"event_callback"}'
    headers = slack_headers(body, "application/json", ts=now)
    if case == "wrong secret":
        headers = slack_headers(body, "application/json", secret="0" * 32, ts=now)
    elif case == "altered body":
        body = body.replace(b"event", b"evil!")
    elif case == "301 seconds old":
        headers = slack_headers(body, "application/json", ts=now - 301)
    elif case == "301 seconds ahead":
        headers = slack_headers(body, "application/json", ts=now + 301)
    elif case == "no headers":
        headers = {}
    elif case == "garbage timestamp":
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    with pytest.raises(RejectedRequest) as rejected:
        verify_signature(SIGNING_SECRET, headers, body, now)
    assert (rejected.value.status, rejected.value.reason) == (401, reason)


def test_it_parses_each_of_slacks_body_shapes_from_the_fixtures() -> None:
    slack = FIXTURES / "slack"
    event = parse_body((slack / "event_app_home_opened_home_tab.bolt.json").read_bytes(), "application/json")
    assert event["event_id"] == "Ev111"
    form = "application/x-www-form-urlencoded"
    action = parse_body((slack / "block_actions_message_button.bolt.form.txt").read_bytes().strip(), form)
    assert action["type"] == "block_actions"
    command = parse_body((slack / "slash_command.bolt.form.txt").read_bytes().strip(), form)
    assert command["command"] == "/hello-world"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "body is not valid JSON"),
        (b"[1, 2]", "application/json", "body is not a JSON object"),
        (b'{"token": "x"}', "application/json", "body has no 'type'"),
        (b"payload=%7Bnope", "application/x-www-form-urlencoded", "payload field is not valid JSON"),
        (b"user_id=U1", "application/x-www-form-urlencoded", "form body has neither a payload nor a command field"),
        (b"\xff\xfe", "application/json", "body is not UTF-8"),
        (b"hello", "text/plain", "unsupported Content-Type 'text/plain'"),
        (b"hello", "", "unsupported Content-Type '(none)'"),
    ],
)
def test_it_names_what_is_wrong_with_a_malformed_body(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(RejectedRequest) as rejected:
        parse_body(body, content_type)
    assert (rejected.value.status, rejected.value.reason) == (400, reason)
