"""Strict JSON: the artifact files are data we act on, so anything JSON merely tolerates is refused.

Refused: NaN/Infinity (also numbers that overflow to infinity), duplicate keys,
nesting deeper than :data:`MAX_DEPTH`, invalid UTF-8. A UTF-8 BOM is accepted.
Every problem raises :class:`SoakwatchError` naming the source.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import SoakwatchError

#: Real artifacts nest four levels deep; anything past this is not an artifact.
MAX_DEPTH = 64

BOM = "\ufeff"


class _Refused(ValueError):
    """Raised inside the decoder's callbacks; turned into SoakwatchError with the source."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"number {text[:40]} overflows to infinity")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key!r}")
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when containers nest deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_strict(text: str | bytes, source: str) -> Any:
    """Parse one JSON document strictly; ``source`` names it in errors (e.g. a path)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SoakwatchError(f"{source}: not UTF-8 (byte {exc.start})") from None
    if text.startswith(BOM):
        text = text[1:]
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise SoakwatchError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except _Refused as exc:
        raise SoakwatchError(f"{source}: {exc}") from None
    except RecursionError:
        raise SoakwatchError(f"{source}: nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer literal past Python's digit limit
        raise SoakwatchError(f"{source}: {exc}") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise SoakwatchError(f"{source}: nesting deeper than {MAX_DEPTH} levels")
    return value


def read_json_object(path: Path) -> dict[str, Any]:
    """Read a file that must hold one JSON object."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SoakwatchError(f"{path}: file not found") from None
    except OSError as exc:
        raise SoakwatchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    value = loads_strict(data, str(path))
    if not isinstance(value, dict):
        raise SoakwatchError(f"{path}: expected a JSON object at the top level, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
