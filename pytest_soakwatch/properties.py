"""A TUNING_REPORT entry as test-report properties and back: how results leave a worker.

Properties are JSON-safe scalars (xdist drops a report it cannot serialize)
and read well in JUnit XML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: entry key -> property name, for values that are JSON-encoded into a string.
_ENCODED = {
    "neg_edge_drivers": "drivers",
    "suggested_deltas": "advice",
    "kpi_reasons": "reasons",
    "applied": "applied",
}
_PLAIN = ("net_bps", "kpi_verdict", "rationale", "runtime_utc")
#: Every property an iteration item sets (``error``: why it broke).
OWN_NAMES = frozenset({"soak", "iteration", "error", *_PLAIN, *_ENCODED.values()})


_ENCODE = json.JSONEncoder(sort_keys=True).encode


def entry_properties(entry: Mapping[str, Any]) -> list[tuple[str, object]]:
    props: list[tuple[str, object]] = [(key, entry.get(key)) for key in _PLAIN]
    props += [(name, _ENCODE(entry.get(key))) for key, name in _ENCODED.items()]
    return props


def soak_properties(properties: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """The properties as a dict, with the JSON-encoded ones decoded."""
    found = dict(properties)
    for key, name in _ENCODED.items():
        if name in found:
            found[key] = json.loads(str(found.pop(name)))
    return found


def entry_from_properties(found: Mapping[str, Any]) -> dict[str, Any]:
    """The TUNING_REPORT entry an iteration's properties carry."""
    entry = {key: found.get(key) for key in _PLAIN}
    entry.update((key, found.get(key)) for key in _ENCODED)
    entry["iteration"] = found["iteration"]
    return entry
