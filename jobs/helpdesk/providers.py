"""Pure: the one table of helpdesk webhook providers, by the URL path segment (/webhooks/<name>)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jobs.helpdesk import freshdesk, generic, helpscout, intercom, zendesk
from jobs.helpdesk.events import ParsedPayload, PayloadError

Verify = Callable[[bytes, Mapping[str, str], str, float], bool]
DeliveryKey = Callable[[bytes, Mapping[str, str]], str]
Parse = Callable[[bytes, Mapping[str, str]], ParsedPayload]

# What storage keeps of each value (storage.models); longer ones are refused here, with a reason, rather
# than failing in the database after the delivery was accepted.
MAX_DELIVERY_KEY = 128
MAX_SECONDS = 10 * 365 * 24 * 3600  # a first response or resolution time beyond ten years is a mistake
LIMITS = {"event_key": 160, "ticket_id": 64, "agent_id": 64, "group": 255, "agent_email": 320}


@dataclass(frozen=True)
class Provider:
    name: str
    verify: Verify  # (raw body, headers with lower-case names, secret or token, now in Unix seconds) -> authentic?
    delivery_key: DeliveryKey  # the dedupe key of one delivery: the provider's id, else a content hash; never raises
    parse: Parse  # outcome events, or PayloadError with a one-line reason
    secret_setting: str  # the Settings field with its secret or token

    @property
    def secret_env(self) -> str:
        """The environment variable that sets it (TANDEM_ZENDESK_SECRET…)."""
        return "TANDEM_" + self.secret_setting.upper()


def _short_key(delivery_key: DeliveryKey) -> DeliveryKey:
    def short(body: bytes, headers: Mapping[str, str]) -> str:
        key = delivery_key(body, headers)
        if len(key) <= MAX_DELIVERY_KEY and _is_text(key):
            return key
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    return short


def _within_limits(parse: Parse) -> Parse:
    def checked(body: bytes, headers: Mapping[str, str]) -> ParsedPayload:
        try:
            parsed = parse(body, headers)
        except UnicodeError:
            # JSON may escape a lone surrogate (\ud800): valid JSON, but not text anything can store.
            raise PayloadError("the payload holds text that is not valid Unicode (a lone surrogate)") from None
        for event in parsed.events:
            for name, limit in LIMITS.items():
                value = getattr(event, name)
                if value is not None and len(value) > limit:
                    raise PayloadError(f"{name.replace('_', ' ')} longer than {limit} characters: {value[:40]}…")
                if value is not None and not _is_text(value):
                    # JSON may escape a lone surrogate (\ud800) or a NUL (\u0000): not storable as text.
                    raise PayloadError(f"{name.replace('_', ' ')} is not text a database can store")
            for name in ("first_response_seconds", "resolution_seconds"):
                seconds = getattr(event, name)
                if seconds is not None and not 0 <= seconds <= MAX_SECONDS:
                    raise PayloadError(f"{name.replace('_', ' ')} out of range: {seconds}")
            if event.rating_score is not None and not 0 <= event.rating_score <= 10:
                raise PayloadError(f"rating out of range: {event.rating_score}")
        learned = tuple(
            (i, e)
            for i, e in parsed.agent_ids
            if len(i) <= LIMITS["agent_id"] and len(e) <= 320 and _is_text(i) and _is_text(e)
        )
        return parsed if learned == parsed.agent_ids else ParsedPayload(parsed.events, parsed.ignored, learned)

    return checked


def _is_text(value: str) -> bool:
    """Storable as text by both databases: UTF-8 (no lone surrogates) and no NUL (PostgreSQL refuses it)."""
    if value.isascii():  # most values, and no surrogate is ASCII: 0.08 us against 0.13 us encoding
        return "\x00" not in value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


PROVIDERS: dict[str, Provider] = {
    module.NAME: Provider(
        module.NAME, module.verify, _short_key(module.delivery_key), _within_limits(module.parse), setting
    )
    for module, setting in (
        (zendesk, "zendesk_secret"),
        (freshdesk, "freshdesk_token"),
        (intercom, "intercom_secret"),
        (helpscout, "helpscout_secret"),
        (generic, "webhook_token"),
    )
}
