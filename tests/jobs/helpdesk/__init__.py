"""Helpers for the helpdesk provider tests: the shared fixtures, and hypothesis strategies for bodies that
are almost right (a real payload with parts replaced, dropped or cut) and for anything at all."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from jobs.helpdesk.events import ParsedPayload, PayloadError

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "helpdesk"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


# Values that trip careless code: wrong types, empties, zeros, huge numbers, times that are not times.
edge_values = st.sampled_from(
    [None, "", " ", 0, -1, "0", True, False, [], {}, 10**30, 1e308, -1e308, "2025-01-08T16:45:20Z", "soon", "{{x}}"]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


def _holds(parent: Any, key: Any) -> bool:
    if isinstance(parent, dict):
        return key in parent
    return isinstance(parent, list) and isinstance(key, int) and key < len(parent)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` (a real payload) with up to three of its parts dropped or replaced by any JSON value."""
    doc = copy.deepcopy(value)
    for path in draw(st.lists(st.sampled_from(_paths(value)[1:]), max_size=3)):
        parent = doc
        for key in path[:-1]:
            if not _holds(parent, key):
                break
            parent = parent[key]
        else:
            if not _holds(parent, path[-1]):
                continue
            if isinstance(parent, dict) and draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(edge_values | json_values)
    return doc


def cut_bytes(raw: bytes) -> st.SearchStrategy[bytes]:
    """The raw bytes with a slice removed or replaced by random bytes (not JSON any more, mostly)."""
    return st.tuples(st.integers(0, len(raw)), st.integers(0, 40), st.binary(max_size=8)).map(
        lambda cut: raw[: cut[0]] + cut[2] + raw[cut[0] + cut[1] :]
    )


def parse_only_succeeds_or_refuses(
    parse: Callable[[bytes, Mapping[str, str]], ParsedPayload], raw: bytes, headers: Mapping[str, str]
) -> None:
    """The provider contract: a ParsedPayload, or PayloadError with a reason. Never any other exception."""
    try:
        result = parse(raw, headers)
    except PayloadError as error:
        assert str(error)
    else:
        assert isinstance(result, ParsedPayload)
        assert all(event.occurred_at.tzinfo is not None for event in result.events)
        assert all(isinstance(agent_id, str) and "@" in email for agent_id, email in result.agent_ids)
