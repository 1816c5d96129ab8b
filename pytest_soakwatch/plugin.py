"""pytest-soakwatch's pytest entry point: options, hooks and fixtures.

Installed but not asked for (no ``--soak-iterations``), it registers nothing
else and adds no items. Asked for, it registers one :class:`SoakPlugin`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import hookspecs, options

if TYPE_CHECKING:  # imported when a soak runs, not when the plugin is only installed
    from .iteration import SoakArtifacts, SoakIteration
    from .soak import SoakPlugin

PLUGIN_KEY: pytest.StashKey[SoakPlugin] = pytest.StashKey()
HOW_TO_RUN = (
    "needs a soak: run pytest with --soak-iterations=N (and --soak-mock, or with a "
    "pytest_soak_run_iteration hook in conftest.py)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


#: What a soak's output directory holds beside ``iterations/`` (TUNING_REPORT, the log).
SOAK_OUTPUT_MARKS = ("TUNING_REPORT.json", "soakwatch.log")
_ITER_SUMMARY = re.compile(r"ITER_SUMMARY_[0-9]+\.json")


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Skip what a soak writes for each iteration (thousands of entries after a long mock soak):
    its ``iterations/`` directory and the ITER_SUMMARY_N.json files beside it. None of them is
    a test, and offering each to every collector makes the next run slow to start."""
    name = collection_path.name
    if name != "iterations" and not _ITER_SUMMARY.fullmatch(name):
        return None
    parent = collection_path.parent
    return any((parent / mark).is_file() for mark in SOAK_OUTPUT_MARKS) or None


#: Options that list what pytest has and run nothing: a soak's settings do not matter there.
_LISTINGS = ("help", "version", "markers", "showfixtures", "show_fixtures_per_test")


def _soak_argument(config: pytest.Config) -> str | None:
    """A command-line argument naming a soak's item (an IDE re-running one), if there is one
    and it is not a path: without a soak it would be "file or directory not found"."""
    if not config.args:
        return None
    from .distributed import ROOT

    for arg in config.args:
        head = arg.split("::")[0]
        if head == ROOT and not (config.invocation_params.dir / head).exists():
            return str(arg)
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soakwatch: an item of a soak (added by pytest-soakwatch)")
    if any(config.getoption(o, False) for o in _LISTINGS):
        return
    if not options.is_requested(config):
        arg = _soak_argument(config)
        if arg is not None:
            raise pytest.UsageError(
                f"soakwatch: {arg!r} selects soak items, but no soak is asked for: pass "
                "--soak-iterations=N (or set SOAKWATCH_ITERATIONS, or soak_iterations in the ini)"
            )
        return
    from .settings import resolve
    from .soak import SoakPlugin

    plugin = SoakPlugin(config, resolve(config))
    config.stash[PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "soakwatch-soak")


def _requested(request: pytest.FixtureRequest) -> tuple[Any, str, int]:
    plugin = request.config.stash.get(PLUGIN_KEY, None)
    param = getattr(request, "param", None)
    if plugin is None or param is None:
        pytest.skip(HOW_TO_RUN)
    soak, index = param
    return plugin, soak, index


@pytest.fixture
def soak_iteration(request: pytest.FixtureRequest) -> SoakIteration:
    """The soak iteration this test runs after (the test runs once per iteration)."""
    plugin, soak, index = _requested(request)
    iteration: SoakIteration = plugin.completed_iteration(soak, index)
    return iteration


@pytest.fixture
def soak_record(request: pytest.FixtureRequest, soak_iteration: SoakIteration) -> dict[str, Any]:
    """The iteration's ITER_SUMMARY record (summary, tuning, overrides)."""
    record: dict[str, Any] = request.config.stash[PLUGIN_KEY].record(soak_iteration)
    return record


@pytest.fixture
def soak_summary(soak_record: dict[str, Any]) -> dict[str, Any]:
    """The iteration's summary, as ``summarize_iteration`` returns it."""
    summary: dict[str, Any] = soak_record["summary"]
    return summary


@pytest.fixture
def soak_tuning(soak_record: dict[str, Any]) -> dict[str, Any]:
    """The iteration's tuning advice (deltas, rationale, applied, conditions)."""
    tuning: dict[str, Any] = soak_record["tuning"]
    return tuning


@pytest.fixture
def soak_overrides(soak_iteration: SoakIteration) -> Mapping[str, float]:
    """The overrides the iteration ran with (read-only)."""
    return soak_iteration.overrides


@pytest.fixture
def soak_artifacts(soak_iteration: SoakIteration) -> SoakArtifacts:
    """The iteration's artifact files, parsed on first use."""
    from .iteration import SoakArtifacts

    return SoakArtifacts(soak_iteration.artifacts_dir)
