"""Driver-aware micro-tuning: the seed's four rules, and applying their deltas within bounds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .decimals import exact_sum
from .errors import SoakwatchError
from .values import bounds as checked_bounds
from .values import mapping, number, numbers, optional_number, shown

#: Parameter -> (min, max) the original runner clamped applied values to (FORMATS.md).
DEFAULT_BOUNDS: Mapping[str, tuple[float, float]] = {
    "base_spread_bps_delta": (0.08, 0.25),
    "impact_cap_ratio": (0.08, 0.12),
    "max_delta_ratio": (0.10, 0.16),
    "min_interval_ms": (40, 80),
    "replace_rate_per_min": (200, 320),
    "tail_age_ms": (500, 800),
}

NO_ADJUSTMENT = "No micro-adjustments needed"


@dataclass(frozen=True)
class TuningRules:
    """Thresholds and steps of the four rules; the defaults are the seed's values."""

    spread_step: float = 0.02
    tail_age_step_ms: int = 30
    adverse_limit_bps: float = 10.0
    impact_cap_step: float = -0.01
    max_delta_step: float = -0.01
    min_interval_block_pct: float = 35.0
    min_interval_step_ms: int = 10
    concurrency_block_pct: float = 30.0
    replace_rate_step: int = -30

    def __post_init__(self) -> None:
        for name in self.field_names():  # a NaN limit would never fire, a bool step adds 1
            number(getattr(self, name), f"tuning rule {name}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DEFAULT_RULES = TuningRules()


def _signed(value: float) -> str:
    return f"+{value}" if value >= 0 else str(value)


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def propose_micro_tuning(
    summary: Mapping[str, Any],
    current_overrides: Mapping[str, float] | None = None,
    rules: TuningRules = DEFAULT_RULES,
) -> dict[str, Any]:
    """Suggest parameter deltas from an iteration summary (the seed's rules, strict ``>``).

    ``current_overrides`` is accepted for the seed's signature; the deltas are
    raw steps and :func:`apply_tuning` clamps them to bounds.
    """
    del current_overrides  # the rules depend on the outcome, not on the inputs
    summary = mapping(summary, "summary")
    if not isinstance(rules, TuningRules):
        raise SoakwatchError(f"rules: expected TuningRules, got {shown(rules)}")
    drivers = summary.get("neg_edge_drivers") or []
    if not isinstance(drivers, list | tuple) or not all(isinstance(d, str) for d in drivers):
        got = shown(drivers)
        raise SoakwatchError(f"summary neg_edge_drivers: expected a list of names, got {got}")
    slippage_key, slippage = _first_number(summary, "slippage_bps", "slippage_bps_p95")
    adverse_key, adverse = _first_number(summary, "adverse_bps", "adverse_bps_p95")
    blocks = mapping(summary.get("blocks") or {}, "summary blocks")
    ratios = mapping(blocks.get("ratios") or {}, "summary blocks.ratios")
    min_interval_pct = optional_number(ratios.get("min_interval"), "summary ratio min_interval")
    concurrency_pct = optional_number(ratios.get("concurrency"), "summary ratio concurrency")

    deltas: dict[str, float] = {}
    parts: list[str] = []
    if "slippage_bps" in drivers:
        deltas["base_spread_bps_delta"] = rules.spread_step
        deltas["tail_age_ms"] = rules.tail_age_step_ms
        measured = "n/a" if slippage is None else f"{slippage:.2f}"
        parts.append(
            f"{slippage_key}={measured} (driver) → widen spread {_signed(rules.spread_step)}, "
            f"tail {_signed(rules.tail_age_step_ms)}ms"
        )
    if adverse is not None and adverse > rules.adverse_limit_bps:
        deltas["impact_cap_ratio"] = rules.impact_cap_step
        deltas["max_delta_ratio"] = rules.max_delta_step
        parts.append(
            f"{adverse_key}={adverse:.2f} > {rules.adverse_limit_bps:g} → impact_cap "
            f"{_signed(rules.impact_cap_step)}, max_delta {_signed(rules.max_delta_step)}"
        )
    if min_interval_pct is not None and min_interval_pct > rules.min_interval_block_pct:
        deltas["min_interval_ms"] = rules.min_interval_step_ms
        parts.append(
            f"min_interval blocks={_pct(min_interval_pct)} > {rules.min_interval_block_pct:g}% "
            f"→ min_interval {_signed(rules.min_interval_step_ms)}ms"
        )
    if concurrency_pct is not None and concurrency_pct > rules.concurrency_block_pct:
        deltas["replace_rate_per_min"] = rules.replace_rate_step
        parts.append(
            f"concurrency blocks={_pct(concurrency_pct)} > {rules.concurrency_block_pct:g}% "
            f"→ replace_rate {_signed(rules.replace_rate_step)}/min"
        )
    return {
        "deltas": deltas,
        "rationale": " | ".join(parts) if parts else NO_ADJUSTMENT,
        "applied": False,
        "conditions": {
            "net_bps": summary.get("net_bps"),
            "slippage_bps": slippage,
            "adverse_bps": adverse,
            "min_interval_pct": min_interval_pct,
            "concurrency_pct": concurrency_pct,
        },
    }


def _first_number(summary: Mapping[str, Any], *keys: str) -> tuple[str, float | None]:
    """The first of ``keys`` with a number (the mean, else its p95), named for the rationale."""
    for key in keys:
        value = optional_number(summary.get(key), f"summary {key}")
        if value is not None:
            return key, float(value)
    return keys[0], None


def apply_tuning(
    overrides: Mapping[str, float],
    deltas: Mapping[str, float],
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Add ``deltas`` to ``overrides`` exactly and clamp to ``bounds``.

    Returns ``{"overrides": new values, "clamped": [keys held at a bound]}``; the
    input is not modified. A delta for a key absent from ``overrides`` starts
    from the shipped default (or 0 for a key that has none).
    """
    from .overrides import default_overrides

    limits = DEFAULT_BOUNDS if bounds is None else checked_bounds(bounds, "bounds")
    defaults = default_overrides()
    new: dict[str, Any] = numbers(overrides, "overrides")
    clamped: list[str] = []
    for key, delta in numbers(deltas, "deltas").items():
        value = exact_sum(new.get(key, defaults.get(key, 0)), delta)
        if not math.isfinite(value):
            raise SoakwatchError(f"overrides {key}: {new.get(key)} + {delta} is too large")
        if key in limits:
            low, high = limits[key]
            held = min(max(value, low), high)
            if held != value:
                clamped.append(key)
                value = held
        new[key] = value
    return {"overrides": new, "clamped": sorted(clamped)}
