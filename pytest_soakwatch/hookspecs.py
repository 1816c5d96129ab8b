"""Hooks a project implements in its conftest.py to drive and observe a soak."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .iteration import SoakIteration


@pytest.hookspec(firstresult=True)
def pytest_soak_run_iteration(iteration: SoakIteration) -> object | None:
    """Run one soak iteration and write its artifacts into ``iteration.artifacts_dir``.

    Return any value but ``None`` when done; ``None`` means "not mine" and lets
    another implementation (for example one per soak) take it.
    """


def pytest_soak_iteration_done(
    iteration: SoakIteration, summary: dict[str, Any], tuning: dict[str, Any]
) -> None:
    """Observe an iteration after its summary and tuning advice were computed."""


def pytest_soak_report_entry(soak: str, entry: dict[str, Any]) -> None:
    """Adjust (in place) an entry of the cumulative TUNING_REPORT.json before it is written."""
