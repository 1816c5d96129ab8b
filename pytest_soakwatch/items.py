"""The test items of a soak: one per iteration, then the KPI gate."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import SoakwatchError
from .gate import judge
from .properties import entry_properties
from .watcher import report_entry

if TYPE_CHECKING:
    from .runner import SoakRunner

ROOT = "soakwatch"


class SoakKpiWarning(UserWarning):
    """An iteration's KPI verdict was WARN (or FAIL while only the final verdict gates)."""


def soak_nodeid(soak: str) -> str:
    return f"{ROOT}::{soak}"


class Soak(pytest.Collector):
    """The collector node of one soak; it holds no files, its items are made by the plugin."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class SoakItem(pytest.Item):
    """Common ground of the soak's items."""

    runner: SoakRunner

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.nodeid

    def warn_kpi(self, message: str) -> None:
        """A warning located at the soak (``soakwatch::NAME:ITERATION``), not in our code."""
        index = getattr(self, "index", self.runner.spec.iterations)
        location = soak_nodeid(self.runner.spec.name)
        warnings.warn_explicit(SoakKpiWarning(message), None, location, index)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SoakwatchError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class IterationItem(SoakItem):
    """Runs one iteration in setup (a broken iteration is an error), judges it in the call."""

    index: int

    def setup(self) -> None:
        soak = self.runner.spec.name
        self.user_properties += [("soak", soak), ("iteration", self.index)]
        try:
            record = self.runner.run(self.index)
        except SoakwatchError as exc:
            self.user_properties.append(("error", str(exc)))
            pytest.fail(str(exc), pytrace=False)
        entry = report_entry(self.index, record["summary"], record["tuning"])
        self.user_properties += entry_properties(entry)

    def runtest(self) -> None:
        outcome = self.runner.outcomes[self.index]
        reasons = ", ".join(outcome.reasons) or "no reasons given"
        message = f"KPI verdict {outcome.verdict} in iteration {self.index}: {reasons}"
        if outcome.verdict == "FAIL" and self.runner.settings.gate == "any":
            pytest.fail(message, pytrace=False)
        if outcome.verdict in ("WARN", "FAIL"):
            if outcome.verdict == "FAIL":
                message += " (judged by the final gate)"
            self.warn_kpi(message)


class GateItem(SoakItem):
    """Fails when the soak's verdict is FAIL (or the last iteration left none)."""

    def runtest(self) -> None:
        result = judge(self.runner.outcomes, self.runner.settings.gate)
        if result is None:
            pytest.skip(f"no iteration of soak {self.runner.spec.name!r} ran in this session")
        if result.failed:
            pytest.fail(result.message, pytrace=False)
        if result.verdict == "WARN":
            self.warn_kpi(result.message)


def make_items(session: pytest.Session, runner: SoakRunner) -> list[SoakItem]:
    """The soak's iteration items in order, then its gate item."""
    spec = runner.spec
    parent = Soak.from_parent(
        session, name=spec.name, nodeid=soak_nodeid(spec.name), path=session.path / ROOT
    )
    parent.extra_keyword_matches.add(ROOT)
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
