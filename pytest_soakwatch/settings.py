"""Resolving the settings once per run: every value parsed, every bad one a usage error.

A bad value is a ``pytest.UsageError`` naming where it came from (option,
variable or ini key) and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import pytest

from .kpi import DEFAULT_THRESHOLDS, Threshold, inverted
from .options import DEFAULT_OUT, GATES, SETTINGS, ini_text, raw_value
from .tuning import DEFAULT_BOUNDS, DEFAULT_RULES, TuningRules


@dataclass(frozen=True)
class SoakDeclaration:
    """A named soak and, for the simulator, its own scenario and seed (``None``: the run's)."""

    name: str
    scenario: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run."""

    iterations: int | None
    mock: bool
    mock_scenario: str
    seed: int
    auto_tune: bool
    out: Path
    overrides: Path | None
    gate: str
    soaks: tuple[SoakDeclaration, ...]
    rules: TuningRules
    bounds: Mapping[str, tuple[float, float]]
    thresholds: Mapping[str, Threshold]


#: Items are made up front (pytest collects before it runs): a million iterations would take
#: gigabytes before the first one ran. A hundred thousand 30-second iterations last 35 days.
MAX_SOAK_ITERATIONS = 100_000


def _int(value: Any, source: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number in plain ASCII digits (``int`` also takes "1_000" and other scripts)."""
    text = str(value).strip()
    digits = text[1:] if text[:1] in ("-", "+") else text
    number = int(text) if digits.isascii() and digits.isdigit() and len(digits) < 100 else None
    too_small = minimum is not None and number is not None and number < minimum
    if number is None or too_small or (maximum is not None and number > maximum):
        allowed = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
        allowed += f" and <= {maximum:,}" if maximum is not None else ""
        raise pytest.UsageError(f"{source}: expected {allowed}, got {text!r}")
    return number


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    allowed = "true or false (1/0, yes/no, on/off)"
    raise pytest.UsageError(f"{source}: expected {allowed}, got {value!r}")


def _choice(value: Any, source: str, allowed: tuple[str, ...]) -> str:
    text = str(value).strip()
    if text not in allowed:
        raise pytest.UsageError(f"{source}: expected one of {', '.join(allowed)}, got {text!r}")
    return text


def _get(
    config: pytest.Config, name: str, parse: Callable[[Any, str, Path], Any], default: Any
) -> Any:
    setting = next(s for s in SETTINGS if s.name == name)
    found = raw_value(config, setting)
    if found is None:
        return default
    return parse(*found)


def _number(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"{source}: expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise pytest.UsageError(f"{source}: expected a finite number, got {text!r}")
    return int(value) if value.is_integer() and "." not in text else value


def _table(config: pytest.Config, key: str, width: int) -> dict[str, list[str]]:
    """Parse ``name = v1 [v2]`` lines of an ini table."""
    rows: dict[str, list[str]] = {}
    table = config.getini(key)
    ini_text(key, table, lines=True)
    for line in table:
        name, sep, rest = line.partition("=")
        values = rest.split()
        if not sep or not name.strip() or len(values) != width:
            shape = "name = value" if width == 1 else "name = " + " ".join(["value"] * width)
            raise pytest.UsageError(f"ini {key}: expected '{shape}', got {line!r}")
        if name.strip() in rows:
            raise pytest.UsageError(f"ini {key}: {name.strip()!r} is given twice")
        rows[name.strip()] = values
    return rows


def _rules(config: pytest.Config) -> TuningRules:
    known = TuningRules.field_names()
    changes: dict[str, Any] = {}
    for name, (value,) in _table(config, "soak_tuning", 1).items():
        if name not in known:
            raise pytest.UsageError(
                f"ini soak_tuning: unknown setting {name!r} (known: {', '.join(known)})"
            )
        changes[name] = _number(value, f"ini soak_tuning {name}")
    return replace(DEFAULT_RULES, **changes)


def _bounds(config: pytest.Config) -> dict[str, tuple[float, float]]:
    bounds = dict(DEFAULT_BOUNDS)
    for name, (low, high) in _table(config, "soak_bounds", 2).items():
        near = get_close_matches(name, DEFAULT_BOUNDS, n=1, cutoff=0.8)
        if name not in bounds and near:  # a new parameter, or a typo that would bound nothing
            raise pytest.UsageError(
                f"ini soak_bounds: unknown parameter {name!r}, close to {near[0]!r} (a parameter "
                f"of the project's own needs a name unlike {', '.join(DEFAULT_BOUNDS)})"
            )
        source = f"ini soak_bounds {name}"
        pair = (_number(low, source), _number(high, source))
        if pair[0] > pair[1]:
            raise pytest.UsageError(f"{source}: min {low} is above max {high}")
        bounds[name] = pair
    return bounds


def _thresholds(config: pytest.Config) -> dict[str, Threshold]:
    table = dict(DEFAULT_THRESHOLDS)
    for name, (warn, fail) in _table(config, "soak_kpi_thresholds", 2).items():
        if name not in table:
            known = ", ".join(DEFAULT_THRESHOLDS)
            raise pytest.UsageError(
                f"ini soak_kpi_thresholds: unknown metric {name!r} (known: {known})"
            )
        source = f"ini soak_kpi_thresholds {name}"
        low, high = (None if v == "-" else float(_number(v, source)) for v in (warn, fail))
        old = table[name]
        side = inverted(low, high, old.higher_is_worse)
        if side:  # said here: the table's values as written, and no INTERNALERROR
            raise pytest.UsageError(f"{source}: warn {warn} is {side} fail {fail}")
        table[name] = Threshold(old.reason, low, high, old.higher_is_worse)
    return table


#: No "-": pytest joins parameter ids with it, and a test's id must name its soak unambiguously.
MAX_NAME = 100
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
#: Names Windows gives to devices, with any extension: no directory can have them there.
_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10))]
)


def _unusable_as_directory(name: str) -> str | None:
    """Why ``name`` cannot name the soak's directory on every platform, if it cannot."""
    if len(name) > MAX_NAME:  # file systems take 255 bytes: ITER_SUMMARY_N.json's room too
        return f"is longer than {MAX_NAME} characters"
    if name.startswith(".") or name.endswith("."):  # "..", a hidden directory, or one Windows
        return "starts or ends with '.'"  # would strip the dot from
    if name.split(".")[0].lower() in _DEVICES:
        return "is a device name on Windows"
    return None


def _soaks(
    values: list[str], source: str, scenarios: tuple[str, ...]
) -> tuple[SoakDeclaration, ...]:
    """Parse ``NAME[:SCENARIO[:SEED]]`` declarations; names are unique and path-safe."""
    declared: dict[str, SoakDeclaration] = {}
    for value in values:
        name, *rest = value.strip().split(":")
        if not name or not set(name) <= _NAME_CHARS or len(rest) > 2:
            raise pytest.UsageError(
                f"{source}: expected NAME[:SCENARIO[:SEED]] with a NAME of letters, digits, "
                f"'_' or '.', got {value!r}"
            )
        problem = _unusable_as_directory(name)
        if problem:
            raise pytest.UsageError(
                f"{source}: soak name {name!r} {problem} (it names a directory)"
            )
        same = next((other for other in declared if other.lower() == name.lower()), None)
        if same is not None:  # Windows' and macOS' file systems would give them one directory
            also = (
                "" if same == name else f" (as {same!r}: the same directory where case is ignored)"
            )
            raise pytest.UsageError(f"{source}: soak {name!r} is declared twice{also}")
        where = f"{source} {value.strip()!r}"  # which part of which declaration is wrong
        scenario = _choice(rest[0], f"{where}: scenario", scenarios) if rest else None
        seed = _int(rest[1], f"{where}: seed") if len(rest) > 1 else None
        declared[name] = SoakDeclaration(name, scenario, seed)
    return tuple(declared.values())


def _path(value: Any, source: str, base: Path) -> Path:
    text = str(value).strip()
    if not text or "\0" in text:
        raise pytest.UsageError(f"{source}: expected a path, got {value!r}")
    return base / text


def _is_there(path: Path) -> bool:
    """Whether anything is at ``path``: a broken symbolic link is (it is in the way)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # a file above: found on the way up
        return False
    return True


def _directory(value: Any, source: str, base: Path) -> Path:
    """A directory to write in: it, or the nearest part of it that exists, is a directory."""
    found = _path(value, source, base)
    try:
        existing = next((p for p in (found, *found.parents) if _is_there(p)), None)
    except OSError as exc:  # e.g. a parent we may not look into
        raise pytest.UsageError(f"{source}: cannot check {found} ({exc.strerror or exc})") from None
    if existing is None:  # Windows: a drive or network share that is not there
        raise pytest.UsageError(f"{source}: no part of {found} exists")
    if not existing.is_dir():
        raise pytest.UsageError(f"{source}: {existing} exists and is not a directory")
    if not os.access(existing, os.W_OK):  # e.g. a read-only file system
        raise pytest.UsageError(f"{source}: cannot write in {existing}")
    return found


def resolve(config: pytest.Config) -> Settings:
    """Resolve every setting once; raise ``pytest.UsageError`` for a bad value."""
    from .simulator import DEFAULT_SCENARIO, SCENARIOS

    scenarios = tuple(sorted(SCENARIOS))

    return Settings(
        iterations=_get(
            config, "iterations", lambda v, s, _: _int(v, s, 1, MAX_SOAK_ITERATIONS), None
        ),
        mock=_get(config, "mock", lambda v, s, _: _bool(v, s), False),
        mock_scenario=_get(
            config, "mock_scenario", lambda v, s, _: _choice(v, s, scenarios), DEFAULT_SCENARIO
        ),
        seed=_get(config, "seed", lambda v, s, _: _int(v, s), 0),
        auto_tune=_get(config, "auto_tune", lambda v, s, _: _bool(v, s), False),
        out=_get(config, "out", _directory, None)
        or _directory(DEFAULT_OUT, "the default output directory", config.rootpath),
        overrides=_get(config, "overrides", _path, None),
        gate=_get(config, "gate", lambda v, s, _: _choice(v, s, GATES), "final"),
        soaks=_get(config, "name", lambda v, s, _: _soaks(v, s, scenarios), ()),
        rules=_rules(config),
        bounds=_bounds(config),
        thresholds=_thresholds(config),
    )
