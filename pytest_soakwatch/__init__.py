"""pytest-soakwatch: soak tests as pytest runs.

The watcher core (this package's public API) is standard library only and
usable without pytest; the pytest plugin lives in :mod:`pytest_soakwatch.plugin`.
"""

from __future__ import annotations

from .errors import SoakKpiWarning, SoakwatchError
from .kpi import DEFAULT_THRESHOLDS, Threshold, evaluate_kpi
from .overrides import Overrides, default_overrides, load_overrides, validate_overrides
from .summary import summarize_iteration
from .tuning import DEFAULT_BOUNDS, DEFAULT_RULES, TuningRules, apply_tuning, propose_micro_tuning
from .watcher import process_iteration

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
