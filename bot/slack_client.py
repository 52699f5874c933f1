"""The one way Tandem builds its Slack Web API client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.settings import Settings

# users.list is Tier 2 (about 20 calls a minute): a big workspace meets 429s, which say how long to wait.
RATE_LIMIT_RETRIES = 10
USERS_LIST_PAGE_SIZE = 200


def make_web_client(settings: Settings, *, timeout: int = 30, retry_rate_limits: bool = True) -> WebClient:
    """`retry_rate_limits=False` for the pulse fan-out, which paces all its threads together on a 429."""
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=2)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=handlers,
    )


def iter_user_pages(client: WebClient, page_size: int = USERS_LIST_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """Page through users.list with cursors until Slack returns an empty next_cursor."""
    cursor: str | None = None
    while True:
        response = client.users_list(limit=page_size, cursor=cursor)
        yield list(response.get("members") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return
