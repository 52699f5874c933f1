"""POST /webhooks/<provider>: verify a helpdesk's delivery, make it safe, and answer once it is (journaled
or committed; it is written into the database with its outcome events just after: jobs/helpdesk/ingest_queue.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from bot.wsgi import Answer, Environ, RejectedRequest, error, json_answer, lowercase_headers, read_body
from jobs.helpdesk.ingest_queue import WebhookIngest
from jobs.helpdesk.providers import PROVIDERS

log = logging.getLogger("tandem.http")


class WebhookEdge:
    """`secrets`: provider name -> its signing secret or token; a provider without one refuses (401)."""

    def __init__(self, webhooks: WebhookIngest, secrets: Mapping[str, str], clock: Callable[[], float]) -> None:
        self._webhooks = webhooks
        self._secrets = dict(secrets)
        self._clock = clock

    def answer(self, environ: Environ, name: str) -> Answer:
        provider = PROVIDERS.get(name)
        if provider is None:
            return error(404, f"no helpdesk called {name!r}: use one of {', '.join(sorted(PROVIDERS))}")
        secret = self._secrets.get(name)
        if not secret:
            return error(401, f"{name} webhooks are off: set {provider.secret_env} to turn them on")
        try:
            body = read_body(environ)
        except RejectedRequest as rejected:
            return error(rejected.status, rejected.reason)
        headers = lowercase_headers(environ)
        if not provider.verify(body, headers, secret, self._clock()):
            return error(401, f"the {name} signature or token does not match")
        # The raw delivery is journaled or committed before the answer: a crash after a 2xx loses nothing.
        result = self._webhooks.ingest(provider, body, headers, datetime.fromtimestamp(self._clock(), UTC))
        if result.problem:
            log.info("kept an unreadable %s webhook for replay: %s", name, result.problem)
            return error(400, f"{result.problem} (kept; `tandem webhooks replay` reads it again after a fix)")
        return accepted(result.events, result.ignored)


@lru_cache(maxsize=64)
def accepted(events: int, ignored: str) -> Answer:
    """A 200's answer: the same few bodies over and over, so each is built once (5 us a webhook saved).
    `ignored` says why a valid payload carries nothing for Tandem (a ping, say); left out otherwise.
    Whether it is a retry is not said: on SQLite that is only found once the delivery is written in."""
    why = {"ignored": ignored} if ignored else {}
    return json_answer(200, ok=True, events=events, **why)
