"""The plugin object registered when a soak is asked for: items, ordering and fixtures' data."""

from __future__ import annotations

import math
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .distributed import ROOT
from .errors import SoakwatchError
from .items import IterationItem, SoakItem, make_soak, selected
from .iteration import SoakIteration
from .overrides import load_overrides
from .reporting import SoakReporter, say
from .runner import SoakRunner, SoakSpec, check_output
from .settings import Settings

DEFAULT_SOAK = "default"
NO_RUNNER = (
    "soakwatch: --soak-iterations needs something to run each iteration: pass "
    "--soak-mock for the built-in simulator, or implement "
    "pytest_soak_run_iteration(iteration) in conftest.py"
)
PARAM = "soak_iteration"


class MockRunner:
    """``--soak-mock``: the built-in simulator answers the runner hook before any conftest."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_soak_run_iteration(self, iteration: SoakIteration) -> bool:
        from .simulator import simulate_iteration

        simulate_iteration(  # a full disk is a SoakwatchError: the iteration's one-line error
            iteration.artifacts_dir,
            iteration.overrides,
            iteration=iteration.index,
            scenario=iteration.scenario or "calm",
            seed=iteration.seed,
        )
        return True


def _is_selector(arg: str, invocation_dir: Path) -> bool:
    """``soakwatch`` (unless such a path exists) or a soak node id: not a path to collect."""
    if arg.startswith(ROOT + "::"):
        return True
    return arg == ROOT and not (invocation_dir / ROOT).exists()


def soak_specs(settings: Settings) -> list[SoakSpec]:
    """The run's soaks: the declared ones under the output root, or one unnamed soak in it."""
    assert settings.iterations is not None
    if not settings.soaks:
        return [
            SoakSpec(
                DEFAULT_SOAK,
                settings.out,
                settings.iterations,
                settings.mock_scenario,
                settings.seed,
            )
        ]
    return [
        SoakSpec(
            name=soak.name,
            out=settings.out / soak.name,
            iterations=settings.iterations,
            scenario=soak.scenario or settings.mock_scenario,
            seed=settings.seed if soak.seed is None else soak.seed,
            named=True,
        )
        for soak in settings.soaks
    ]


def _soak_items_in_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """Each soak's items in its own order (iterations by index, then the gate), in the places
    its items were given: a reordering plugin (``--ff`` runs last run's failures first) must
    not run iteration 4 before iteration 1, nor the gate before the iterations."""
    places: dict[str, list[int]] = {}
    for place, item in enumerate(items):
        if isinstance(item, SoakItem):
            places.setdefault(item.runner.spec.name, []).append(place)
    arranged = list(items)
    for spots in places.values():
        ordered = sorted((items[spot] for spot in spots), key=_place_in_soak)
        for spot, item in zip(spots, ordered, strict=True):
            arranged[spot] = item
    return arranged


def _place_in_soak(item: pytest.Item) -> float:
    return item.index if isinstance(item, IterationItem) else math.inf


def _after_their_iterations(items: list[pytest.Item]) -> list[pytest.Item]:
    """Items in their order, but each user test checking an iteration right after it."""
    dependents: dict[tuple[str, int], list[pytest.Item]] = {}
    ordered: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        key = callspec.params.get(PARAM) if callspec is not None else None
        if key is None:
            ordered.append(item)
        else:
            dependents.setdefault(tuple(key), []).append(item)
    arranged: list[pytest.Item] = []
    for item in ordered:
        arranged.append(item)
        if isinstance(item, IterationItem):
            arranged.extend(dependents.pop((item.runner.spec.name, item.index), []))
    for rest in dependents.values():
        arranged.extend(rest)
    return arranged


class SoakPlugin:
    """One run's soaks: makes their items, runs them in order, feeds the fixtures."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        try:
            base = load_overrides(settings.overrides, bounds=settings.bounds)
        except SoakwatchError as exc:
            raise pytest.UsageError(f"invalid overrides: {exc}") from None
        self.runners = {
            spec.name: SoakRunner(spec=spec, settings=settings, base=base, hook=config.hook)
            for spec in soak_specs(settings)
        }
        for runner in self.runners.values():
            check_output(runner.spec.out)
        if config.getoption("dist", "no") == "each":
            raise pytest.UsageError(
                "soakwatch: --dist each would run every soak on every worker, into the same "
                "files; use the default distribution (each soak then runs on one worker)"
            )
        invocation_dir = config.invocation_params.dir
        self.selectors = [a for a in config.args if _is_selector(a, invocation_dir)]
        if self.selectors:
            config.args[:] = [a for a in config.args if a not in self.selectors]
        # Tests picked by node id (an IDE's "run this test") run without a soak: a check among
        # them uses its iteration's record. Files, directories or no arguments: the soak runs.
        picked = config.args_source == pytest.Config.ArgsSource.ARGS and config.args
        self.adds_items = bool(self.selectors) or not (
            picked and all("::" in arg for arg in config.args)
        )
        if settings.mock:
            config.pluginmanager.register(MockRunner(), "soakwatch-mock")
        # a worker's results go to the controller; --setup-only and --setup-plan record nothing
        if not (hasattr(config, "workerinput") or config.getoption("setuponly", False)):
            specs = {name: runner.spec for name, runner in self.runners.items()}
            config.pluginmanager.register(
                SoakReporter(config, specs, settings.gate), "soakwatch-reporter"
            )

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if PARAM not in metafunc.fixturenames:
            return
        keys = [
            (name, index)
            for name, runner in self.runners.items()
            for index in range(1, runner.spec.iterations + 1)
        ]
        metafunc.parametrize(PARAM, keys, indirect=True, ids=[f"{s}-iter{i}" for s, i in keys])

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, Any, Any]:
        """Add each soak's collector to what the session collects, as if it were a path."""
        report = yield
        if isinstance(collector, pytest.Session) and report.passed and self.adds_items:
            report.result.extend(
                make_soak(collector, runner, self.selectors) for runner in self.runners.values()
            )
        return report

    @pytest.hookimpl(tryfirst=True)  # before -k and -m deselect what a node id picked
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Once every conftest.py is loaded: does each soak node id name an item, and is there
        something to run the iterations?

        (On a pytest-xdist worker each iteration item reports a missing runner
        instead: a usage error raised there would surface as an internal error.)
        """
        if hasattr(config, "workerinput"):
            return
        soak_ids = [item.nodeid for item in items if isinstance(item, SoakItem)]
        for selector in self.selectors:
            if not any(selected(nodeid, [selector]) for nodeid in soak_ids):
                names = ", ".join(self.runners)
                raise pytest.UsageError(
                    f"not found: {selector} (no such soak item; soaks: {names})"
                )
        if not (self.settings.mock or config.hook.pytest_soak_run_iteration.get_hookimpls()):
            raise pytest.UsageError(NO_RUNNER)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Run a soak's items in order and each user test right after the iteration it checks,
        whatever reordered the items before (``--ff``, ``--nf``, other plugins); a soak whose
        every iteration is selected starts afresh."""
        session.items[:] = _after_their_iterations(_soak_items_in_order(session.items))
        for name, runner in self.runners.items():
            chosen = {
                item.index
                for item in session.items
                if isinstance(item, IterationItem) and item.runner.spec.name == name
            }
            runner.whole_soak_selected = len(chosen) == runner.spec.iterations

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """pytest-xdist: a soak's items stay together on one worker, in order."""
        from .distributed import make_scheduler

        return make_scheduler(config, log, list(self.runners))

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_runtest_metadata(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """pytest-json-report: the iteration's summary and advice as the test's metadata."""
        if call.when != "setup" or not isinstance(item, IterationItem):
            return None
        record = item.runner.records.get(item.index)
        if record is None:
            return None
        return {
            "soakwatch": {
                "soak": item.runner.spec.name,
                "iteration": item.index,
                "summary": record["summary"],
                "tuning": record["tuning"],
            }
        }

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Show each soak's last iteration in its ``artifacts/``; a file system that will not
        fails the run with one line."""
        for runner in self.runners.values():
            try:
                runner.finish()
            except SoakwatchError as exc:
                say(self.config, f"soakwatch: {exc}")
                if session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def completed_iteration(self, soak: str, index: int) -> SoakIteration:
        """The iteration a user's test checks: this session's, or (when its item was not
        selected, e.g. ``--lf`` on the test alone) what the previous run recorded."""
        runner = self.runners[soak]
        if index in runner.verdict_missing:
            pytest.skip(f"soak {soak!r} iteration {index} broke")
        try:
            recorded, damaged = index in runner.records or runner.load_recorded(index), ""
        except SoakwatchError as exc:
            recorded, damaged = False, str(exc)
        if damaged:  # one line, outside the except block: no exception chain shown
            pytest.fail(damaged, pytrace=False)
        if not recorded:
            pytest.skip(f"soak {soak!r} iteration {index} did not run and has no record")
        return runner.iterations[index]

    def record(self, iteration: SoakIteration) -> dict[str, Any]:
        return self.runners[iteration.soak].records[iteration.index]
