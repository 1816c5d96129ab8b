"""The test items of a soak: one per iteration, then the KPI gate."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .distributed import ROOT
from .errors import RunnerError, SoakKpiWarning, SoakwatchError
from .gate import judge
from .markers import one_line
from .properties import OWN_NAMES, entry_properties
from .watcher import report_entry

if TYPE_CHECKING:
    from .runner import SoakRunner


def soak_nodeid(soak: str) -> str:
    return f"{ROOT}::{soak}"


class Soak(pytest.Collector):
    """The collector of one soak: no file behind it, its items are the iterations and the gate."""

    runner: SoakRunner
    selectors: list[str]

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [
            item
            for item in make_items(self, self.runner)
            if not self.selectors or selected(item.nodeid, self.selectors)
        ]


def selected(nodeid: str, selectors: list[str]) -> bool:
    """Whether one of the soak node ids (or ``soakwatch``) picks the item ``nodeid``."""
    return any(
        s == ROOT or nodeid == s or nodeid.startswith((s + "::", s + "[")) for s in selectors
    )


def make_soak(session: pytest.Session, runner: SoakRunner, selectors: list[str]) -> Soak:
    """The collector node of one soak, as a child of the session."""
    name = runner.spec.name
    soak = Soak.from_parent(session, name=name, nodeid=soak_nodeid(name), path=session.path)
    soak.extra_keyword_matches.add(ROOT)
    soak.add_marker(ROOT)
    soak.runner = runner
    soak.selectors = selectors
    return soak


class SoakItem(pytest.Item):
    """Common ground of the soak's items."""

    runner: SoakRunner

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.nodeid

    def warn_kpi(self, message: str) -> None:
        """A warning located at the soak, not in our code.

        Same soak, same message, same location: pytest's summary lists one
        warning with the items that raised it, not one per iteration. The
        location is in angle brackets, like ``<string>``: a name no source
        line is looked up for; filters match the module ``soakwatch::NAME``.
        """
        soak = soak_nodeid(self.runner.spec.name)
        warnings.warn_explicit(SoakKpiWarning(message), None, f"<{soak}>", 0, module=soak)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SoakwatchError | SoakKpiWarning):  # e.g. -W error::...
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return super().repr_failure(excinfo, style)


class IterationItem(SoakItem):
    """Runs one iteration in setup (a broken iteration is an error), judges it in the call."""

    index: int

    def setup(self) -> None:
        if self.config.getoption("setuponly", False):  # --setup-only, --setup-plan: no run
            return
        soak = self.runner.spec.name
        # a re-run (pytest-rerunfailures) starts without what the failed attempt left
        self.user_properties[:] = [p for p in self.user_properties if p[0] not in OWN_NAMES]
        self.user_properties += [("soak", soak), ("iteration", self.index)]
        try:
            record = self.runner.run(self.index)
        except SoakwatchError as exc:
            problem, shown = str(exc), str(exc)
        except RunnerError as exc:
            problem, shown = exc.problem, str(exc)
        else:
            problem = shown = ""
        if problem:  # failed outside the except block: no exception chain shown
            self.user_properties.append(("error", problem))
            pytest.fail(shown, pytrace=False)
        entry = report_entry(self.index, record["summary"], record["tuning"])
        self.user_properties += entry_properties(entry)

    def runtest(self) -> None:
        outcome = self.runner.outcomes[self.index]
        reasons = one_line(", ".join(outcome.reasons)) or "no reasons given"
        if outcome.verdict == "FAIL" and self.runner.settings.gate == "any":
            pytest.fail(f"KPI verdict FAIL in iteration {self.index}: {reasons}", pytrace=False)
        message = f"KPI verdict {outcome.verdict}: {reasons}"
        if outcome.verdict in ("WARN", "FAIL"):
            if outcome.verdict == "FAIL":
                message += " (judged by the final gate)"
            self.warn_kpi(message)


class GateItem(SoakItem):
    """Fails when the soak's verdict is FAIL (or the last iteration left none)."""

    def runtest(self) -> None:
        """Judge the soak: what TUNING_REPORT.json recorded, with this session's iterations on top.

        Alone (``--lf``, a node id) it judges the recorded soak.
        """
        spec = self.runner.spec
        result = judge(self.runner.soak_outcomes(), spec.iterations, self.runner.settings.gate)
        if result is None:
            pytest.skip(f"soak {self.runner.spec.name!r} has no iteration to judge")
        if result.failed:
            pytest.fail(result.message, pytrace=False)
        if result.verdict == "WARN":
            self.warn_kpi(result.message)


def make_items(parent: Soak, runner: SoakRunner) -> list[SoakItem]:
    """The soak's iteration items in order, then its gate item."""
    spec = runner.spec
    items: list[SoakItem] = []
    for index in range(1, spec.iterations + 1):
        iteration_item = IterationItem.from_parent(
            parent, name=f"iteration[{index}]", nodeid=f"{parent.nodeid}::iteration[{index}]"
        )
        iteration_item.index = index
        items.append(iteration_item)
    items.append(GateItem.from_parent(parent, name="kpi_gate", nodeid=f"{parent.nodeid}::kpi_gate"))
    for item in items:
        item.runner = runner
    return items
