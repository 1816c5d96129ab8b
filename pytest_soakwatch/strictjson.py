"""Strict JSON: the artifact files are data we act on, so anything JSON merely tolerates is refused.

Refused: NaN/Infinity (also numbers that overflow to infinity), duplicate keys,
nesting deeper than :data:`MAX_DEPTH`, invalid UTF-8, and a lone surrogate escape
(``"\\ud800"``: half of a UTF-16 pair, no character; it could not be written back
as UTF-8). A UTF-8 BOM is accepted.
Every problem raises :class:`SoakwatchError` naming the source.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import SoakwatchError
from .fsio import read_bytes

#: Real artifacts nest four levels deep; anything past this is not an artifact.
MAX_DEPTH = 64
#: Real artifacts are a few KB; a JSON file past this is not one (and would fill the memory).
MAX_BYTES = 64 * 1024 * 1024

BOM = "\ufeff"


class _Refusals(threading.local):
    """How many :class:`_Refused` this thread made: a parse that made none has none to find."""

    made = 0


_REFUSALS = _Refusals()


class _Refused:
    """Left in the parsed value where JSON tolerates what we refuse; found with its path."""

    __slots__ = ("key", "problem")

    def __init__(self, problem: str, key: str | None = None) -> None:
        self.problem = problem
        self.key = key  # set for a duplicate key: the problem is the object's, not the value's
        _REFUSALS.made += 1


def _refuse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float | _Refused:
    value = float(text)
    if math.isinf(value):
        return _Refused(f"number {text[:40]} overflows to infinity")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                result[key] = _Refused(f"duplicate key {key!r}", key)
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)


def _path(parts: tuple[str | int, ...]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return text.removeprefix(".")


def _first_problem(value: Any, limit: int) -> str | None:
    """Where the parsed value nests too deep or holds a refused value (iterative: no recursion)."""
    if isinstance(value, _Refused):
        return value.problem
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict):
            children: Iterable[tuple[str | int, Any]] = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth > limit:
            return f"nesting deeper than {limit} levels"
        for key, child in children:
            if isinstance(child, _Refused):
                at = where if child.key is not None else (*where, key)
                return f"{_path(at)}: {child.problem}" if at else child.problem
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (*where, key)))
    return None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> str | None:
    """Where a key or string holds a lone surrogate (a pair decodes to one character)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                half = f"lone surrogate \\u{ord(node[exc.start]):04x} is not text"
                return f"{_path(where)}: {half}" if where else half
        elif isinstance(node, dict):
            for key, child in node.items():
                stack += [(key, where), (child, (*where, key))]
        elif isinstance(node, list):
            stack += [(child, (*where, index)) for index, child in enumerate(node)]
    return None


class JSONProblem(ValueError):
    """What is wrong with a document, without naming it (the caller knows its source).

    ``cut_short``: the text ended before the JSON did (what a killed writer leaves).
    """

    def __init__(self, problem: str, cut_short: bool = False) -> None:
        super().__init__(problem)
        self.cut_short = cut_short


def parse_strict(text: str | bytes, one_line: bool = False, bom: bool = True) -> Any:
    """Parse one JSON document strictly; raise :class:`JSONProblem` saying what is wrong.

    ``one_line``: the document is one line of a file whose errors already name the
    line, so a position is given as a column alone. ``bom``: a UTF-8 byte order
    mark may start the text (a file's start; not a line in the middle of one).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:  # the end of a character cut off is a cut-short text
            cut_short = exc.end == len(text) and exc.reason == "unexpected end of data"
            raise JSONProblem(f"not UTF-8 (byte {exc.start})", cut_short) from None
    if bom and text.startswith(BOM):
        text = text[1:]
    before = _REFUSALS.made
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if one_line else f"line {exc.lineno} column {exc.colno}"
        # The text ran out: an unterminated string, or an error in its last few characters (a
        # number or literal cut in two: "1e", "tru"); "Extra data" means the JSON ended first.
        cut_short = exc.msg.startswith("Unterminated string") or (
            exc.msg != "Extra data" and exc.pos >= len(text.rstrip()) - 4
        )
        raise JSONProblem(f"invalid JSON at {where}: {exc.msg}", cut_short) from None
    except RecursionError:
        raise JSONProblem(f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer literal past Python's digit limit
        raise JSONProblem(str(exc)) from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        problem = _lone_surrogate(value)
        if problem is not None:
            raise JSONProblem(problem)
    # The walk is skipped when it cannot find anything: nothing was refused while this text
    # was parsed (the decoder's hooks run in this thread) and the text has too few brackets to
    # nest deeper than the limit.
    if _REFUSALS.made == before and text.count("{") + text.count("[") <= MAX_DEPTH:
        return value
    problem = _first_problem(value, MAX_DEPTH)
    if problem is not None:
        raise JSONProblem(problem)
    return value


def loads_strict(text: str | bytes, source: str) -> Any:
    """Parse one JSON document strictly; ``source`` names it in errors (e.g. a path)."""
    try:
        return parse_strict(text)
    except JSONProblem as exc:
        raise SoakwatchError(f"{source}: {exc}") from None


def read_json_object(path: Path | str) -> dict[str, Any]:
    """Read a file that must hold one JSON object."""
    try:
        data = read_bytes(path, MAX_BYTES)
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
