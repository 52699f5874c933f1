from __future__ import annotations

import ast
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from bot.settings import HELPDESK_SECRET_NAMES
from jobs.helpdesk import freshdesk, generic, helpscout, intercom, zendesk
from jobs.helpdesk.events import PayloadError
from jobs.helpdesk.providers import PROVIDERS, Provider
from tests.jobs.helpdesk import FIXTURES

ROOT = Path(__file__).resolve().parents[3]
MODULES = {"zendesk": zendesk, "freshdesk": freshdesk, "intercom": intercom, "helpscout": helpscout, "generic": generic}


def test_there_is_one_provider_per_webhook_url_named_like_its_module() -> None:
    assert sorted(PROVIDERS) == ["freshdesk", "generic", "helpscout", "intercom", "zendesk"]
    for name, provider in PROVIDERS.items():
        module = MODULES[name]
        assert (provider.name, module.NAME, provider.verify) == (name, name, module.verify)


def test_the_table_reads_payloads_as_the_modules_do() -> None:
    raw = (FIXTURES / "zendesk" / "event_ticket_status_changed_solved.json").read_bytes()
    assert PROVIDERS["zendesk"].parse(raw, {}) == zendesk.parse(raw, {})
    assert PROVIDERS["zendesk"].delivery_key(raw, {}) == zendesk.delivery_key(raw, {})


def test_values_longer_than_storage_keeps_are_refused_and_long_delivery_ids_hashed() -> None:
    event = json.loads((FIXTURES / "zendesk" / "event_ticket_status_changed_solved.json").read_text())
    long_ticket = {**event, "detail": {**event["detail"], "id": "9" * 65}}
    with pytest.raises(PayloadError, match="ticket id longer than 64 characters"):
        PROVIDERS["zendesk"].parse(json.dumps(long_ticket).encode(), {})
    long_id = json.dumps({**event, "id": "e" * 300}).encode()
    assert len(PROVIDERS["zendesk"].delivery_key(long_id, {})) == 64
    with pytest.raises(PayloadError, match="event key longer than 160"):
        PROVIDERS["zendesk"].parse(long_id, {})


def test_agent_ids_longer_than_storage_keeps_are_not_learned() -> None:
    raw = json.dumps({"ticket_id": "1", "event": "solved", "updated_at": "2025-01-08T16:45Z",
                      "assignee_id": "7" * 65, "assignee_email": "a@example.com"}).encode()  # fmt: skip
    with pytest.raises(PayloadError, match="agent id longer than 64"):
        PROVIDERS["zendesk"].parse(raw, {})
    learned_only = json.dumps({"ticket_id": "1", "event": "replied", "updated_at": "2025-01-08T16:45Z",
                               "assignee_id": "7" * 65, "assignee_email": "a@example.com"}).encode()  # fmt: skip
    assert PROVIDERS["zendesk"].parse(learned_only, {}).agent_ids == ()


def test_each_provider_names_its_setting_and_the_environment_variable_that_sets_it() -> None:
    settings = {name: provider.secret_setting for name, provider in PROVIDERS.items()}
    assert settings == {
        "zendesk": "zendesk_secret",
        "freshdesk": "freshdesk_token",
        "intercom": "intercom_secret",
        "helpscout": "helpscout_secret",
        "generic": "webhook_token",
    }
    assert sorted(p.secret_env for p in PROVIDERS.values()) == sorted(HELPDESK_SECRET_NAMES)


def test_a_provider_entry_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROVIDERS["zendesk"].name = "other"  # type: ignore[misc]
    assert isinstance(PROVIDERS["generic"], Provider)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_request_is_authentic_while_the_secret_is_unset(name: str) -> None:
    headers = {
        "authorization": "Bearer ",
        "x-tandem-token": "",
        "x-hub-signature": "sha1=",
        "x-helpscout-signature": "",
        "x-zendesk-webhook-signature": "",
        "x-zendesk-webhook-signature-timestamp": "2025-01-08T16:45:21Z",
    }
    assert PROVIDERS[name].verify(b"{}", headers, "", 1736354730.0) is False


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe\xfd", b"{"])
def test_every_provider_refuses_a_body_that_is_not_json_with_a_reason(name: str, raw: bytes) -> None:
    with pytest.raises(PayloadError) as refused:
        PROVIDERS[name].parse(raw, {"x-helpscout-event": "convo.status"})
    assert str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["zendesk", "intercom", "helpscout", "generic"])
@pytest.mark.parametrize("raw", [b'{"id": NaN}', b"[Infinity]", b'{"id": "\\ud800"}', '{"id": "1"}'.encode("utf-16")])
def test_json_the_standard_library_would_stretch_to_read_is_not_json(name: str, raw: bytes) -> None:
    """Bodies are decoded by orjson (jobs/helpdesk/values.load_json), which holds to RFC 8259 where the
    standard library is lenient: no helpdesk sends any of these."""
    with pytest.raises(PayloadError, match=r"^not JSON: "):
        PROVIDERS[name].parse(raw, {"x-helpscout-event": "convo.status"})


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("raw", [b"", b"\xff", b"[" * 100_000, b'{"id": null}', b"1e999", b'"' + b"x" * 10_000 + b'"'])
def test_every_delivery_key_is_a_short_string_for_any_body(name: str, raw: bytes) -> None:
    key = PROVIDERS[name].delivery_key(raw, {})
    assert isinstance(key, str) and 0 < len(key) <= 128


def test_every_shared_fixture_gets_a_delivery_key_that_fits_storage() -> None:
    provider_of = {"zendesk": "zendesk", "freshdesk": "freshdesk", "intercom": "intercom", "helpscout": "helpscout"}
    paths = sorted(FIXTURES.glob("*/*.json"))
    assert paths, f"no shared fixtures in {FIXTURES}"
    for path in paths:
        key = PROVIDERS[provider_of[path.parent.name]].delivery_key(path.read_bytes(), {})
        assert 0 < len(key) <= 128, path


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(
                f"{node.module}.{alias.name}" if node.module == "jobs.helpdesk" else node.module for alias in node.names
            )
    return names


@pytest.mark.parametrize("name", sorted(MODULES))
def test_provider_modules_import_only_the_standard_library_the_event_records_and_the_value_readers(name: str) -> None:
    imported = _imports(ROOT / "jobs" / "helpdesk" / f"{name}.py")
    shared = {"jobs.helpdesk.events", "jobs.helpdesk.values"}
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names and m not in shared}
    assert outside == set()


def test_the_provider_table_imports_only_the_provider_modules_and_the_standard_library() -> None:
    imported = _imports(ROOT / "jobs" / "helpdesk" / "providers.py")
    allowed = {f"jobs.helpdesk.{name}" for name in MODULES} | {"jobs.helpdesk.events"}
    assert {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names} <= allowed
