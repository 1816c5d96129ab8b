"""Runtime parameters ("overrides"): shipped defaults, a user's file, the CI variable; validated."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import SoakwatchError
from .strictjson import loads_strict, read_json_object
from .tuning import DEFAULT_BOUNDS
from .values import bounds as checked_bounds
from .values import mapping, shown

ENV_VAR = "MM_RUNTIME_OVERRIDES_JSON"
SHIPPED = "default_overrides.json (shipped)"


@cache
def _shipped_defaults() -> Mapping[str, float]:
    text = resources.files(__package__).joinpath("default_overrides.json").read_text("utf-8")
    return MappingProxyType(loads_strict(text, SHIPPED))


def default_overrides() -> dict[str, float]:
    """The seed's default overrides, as shipped with the package (a fresh copy)."""
    return dict(_shipped_defaults())


@dataclass(frozen=True)
class Overrides:
    """Parameter values and, for each, where it came from (a file path or the variable)."""

    values: Mapping[str, float]
    sources: Mapping[str, str] = field(default_factory=dict)


def validate_overrides(
    values: Mapping[str, Any],
    source: str,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, float]:
    """Check known keys, plain finite numbers and bounds; raise naming source, key and value."""
    limits = DEFAULT_BOUNDS if bounds is None else checked_bounds(bounds, "bounds")
    checked: dict[str, float] = {}
    for key, value in mapping(values, source).items():
        if key not in limits:
            known = ", ".join(sorted(limits))
            raise SoakwatchError(
                f"{source}: unknown override {key!r}={shown(value)} (known: {known})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SoakwatchError(f"{source}: override {key!r} must be a number, got {shown(value)}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise SoakwatchError(f"{source}: override {key!r}={shown(value)} is too large")
        if not math.isfinite(value):
            raise SoakwatchError(f"{source}: override {key!r} must be finite, got {shown(value)}")
        low, high = limits[key]
        if not low <= value <= high:
            raise SoakwatchError(
                f"{source}: override {key!r}={shown(value)} is outside its bounds [{low}, {high}]"
            )
        checked[key] = value
    return checked


def load_overrides(
    defaults_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> Overrides:
    """Defaults (``defaults_path`` replaces the shipped file), then ``MM_RUNTIME_OVERRIDES_JSON``.

    The variable's keys override the defaults one by one; empty or unset means
    the defaults alone.
    """
    if defaults_path is None:
        base_source = SHIPPED
        base: Mapping[str, Any] = _shipped_defaults()
    else:
        base_source = str(defaults_path)
        base = read_json_object(defaults_path)
    values = validate_overrides(base, base_source, bounds)
    sources = dict.fromkeys(values, base_source)

    raw = (os.environ if env is None else mapping(env, "env")).get(ENV_VAR) or ""
    if not isinstance(raw, str):
        raise SoakwatchError(f"{ENV_VAR}: expected text, got {shown(raw)}")
    raw = raw.strip()
    if raw:
        from_env = loads_strict(raw, ENV_VAR)
        if not isinstance(from_env, dict):
            raise SoakwatchError(
                f"{ENV_VAR}: expected a JSON object, got {type(from_env).__name__}"
            )
        values.update(validate_overrides(from_env, ENV_VAR, bounds))
        sources.update(dict.fromkeys(from_env, ENV_VAR))
    return Overrides(values=values, sources=sources)
