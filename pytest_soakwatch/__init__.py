"""pytest-soakwatch: soak tests as pytest runs.

The watcher core (this package's public API) is standard library only and
usable without pytest; the pytest plugin lives in :mod:`pytest_soakwatch.plugin`.
The names below are imported on first use, so that loading the plugin (which
imports this package) costs nothing when no soak is asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import SoakKpiWarning, SoakwatchError
    from .kpi import DEFAULT_THRESHOLDS, Threshold, evaluate_kpi
    from .overrides import Overrides, default_overrides, load_overrides, validate_overrides
    from .summary import summarize_iteration
    from .tuning import (
        DEFAULT_BOUNDS,
        DEFAULT_RULES,
        TuningRules,
        apply_tuning,
        propose_micro_tuning,
    )
    from .watcher import process_iteration

_WHERE = {
    "SoakKpiWarning": "errors",
    "SoakwatchError": "errors",
    "DEFAULT_THRESHOLDS": "kpi",
    "Threshold": "kpi",
    "evaluate_kpi": "kpi",
    "Overrides": "overrides",
    "default_overrides": "overrides",
    "load_overrides": "overrides",
    "validate_overrides": "overrides",
    "summarize_iteration": "summary",
    "DEFAULT_BOUNDS": "tuning",
    "DEFAULT_RULES": "tuning",
    "TuningRules": "tuning",
    "apply_tuning": "tuning",
    "propose_micro_tuning": "tuning",
    "process_iteration": "watcher",
}

__all__ = [
    "DEFAULT_BOUNDS",
    "DEFAULT_RULES",
    "DEFAULT_THRESHOLDS",
    "Overrides",
    "SoakKpiWarning",
    "SoakwatchError",
    "Threshold",
    "TuningRules",
    "apply_tuning",
    "default_overrides",
    "evaluate_kpi",
    "load_overrides",
    "process_iteration",
    "propose_micro_tuning",
    "summarize_iteration",
    "validate_overrides",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
