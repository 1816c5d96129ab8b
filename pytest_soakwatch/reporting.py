"""The controller's side of a soak: cumulative files, live markers, the summary and the backstop.

Everything here is driven by test reports, so it works the same in a serial
run and on the pytest-xdist controller, where items run elsewhere.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

import pytest

from .distributed import ROOT
from .errors import SoakwatchError
from .files import UnusableFile, dumps, remove_list_entry, replace_file, upsert_list_entry
from .gate import GateResult, Outcome, judge
from .markers import (
    error_marker,
    gate_marker,
    iteration_markers,
    one_line,
    showable,
    warning_marker,
)
from .properties import entry_from_properties, soak_properties
from .runner import LOG_NAME, SoakSpec, soak_outcomes
from .watcher import TUNING_REPORT

TABLE_HEADER = f"{'soak':<12} {'iter':>4} {'net_bps':>8} {'kpi':<5} {'applied':<7} drivers / advice"


def _row(soak: str, index: int, entry: Mapping[str, Any] | None) -> str:
    """An iteration's row in the summary's table (one that broke has no entry)."""
    if entry is None:
        return f"{soak:<12} {index:>4} {'-':>8} {'ERROR':<5} {'-':<7} (no summary)"
    net = "n/a" if entry["net_bps"] is None else f"{entry['net_bps']:.2f}"
    advice = ", ".join(f"{k} {v:+g}" for k, v in entry["suggested_deltas"].items())
    drivers = one_line(", ".join(entry["neg_edge_drivers"])) or "-"
    applied = "yes" if entry["applied"] else "no"
    return (
        f"{soak:<12} {index:>4} {net:>8} {entry['kpi_verdict']:<5} {applied:<7} "
        f"{drivers} / {advice or '-'}"
    )


#: What the record is keyed and judged on: the iteration's, whatever a project adds.
_OWN_FIELDS = ("iteration", "kpi_verdict", "kpi_reasons")


def _unrecordable(adjusted: dict[str, Any], entry: dict[str, Any]) -> str | None:
    """What keeps an adjusted entry out of TUNING_REPORT.json, if anything."""
    changed = [
        key
        for key in _OWN_FIELDS  # by type too: True == 1, and would be written as true
        if type(adjusted.get(key)) is not type(entry[key]) or adjusted[key] != entry[key]
    ]
    if changed:
        return f"pytest_soak_report_entry changed {', '.join(map(repr, changed))}"
    try:
        dumps(adjusted, indent=None).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (a lone surrogate) is one
        return f"pytest_soak_report_entry left a value JSON cannot hold: {exc}"
    return None


def _line_start(terminal: Any) -> str:
    """What starts the next write on a line of its own: ``""`` or a line break.

    After an item's location (default verbosity) pytest knows its line is open;
    under ``-q`` it leaves its line of progress dots open without knowing. The
    break goes in the same write as the text: with ``PYTHONUNBUFFERED`` each
    write is a system call.
    """
    terminal.ensure_newline()
    writer = getattr(terminal, "_tw", None)
    return "\n" if writer is not None and writer.width_of_current_line > 0 else ""


def say(config: pytest.Config, line: str) -> None:
    """A problem's line on the terminal, a line of its own."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(_line_start(terminal) + line, red=True)


def _free_name(path: Path) -> Path:
    """``path``, or ``path.2``, ``path.3``...: the first that does not exist."""
    found, number = path, 1
    while found.exists():
        number += 1
        found = path.with_name(f"{path.name}.{number}")
    return found


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class SoakReporter:
    """Collects each soak's results from reports; writes TUNING_REPORT.json and the log."""

    def __init__(self, config: pytest.Config, specs: Mapping[str, SoakSpec], gate: str) -> None:
        self.config = config
        self.specs = specs
        self.gate = gate
        self.rows: dict[str, dict[int, str]] = {name: {} for name in specs}  # the table's
        self.outcomes: dict[str, dict[int, Outcome]] = {name: {} for name in specs}
        self.backstop = ""
        self.ran: set[str] = set()  # soaks with an item that ran in this session
        self.fresh: set[str] = set()  # soaks whose every iteration was collected
        self.cleaned: set[str] = set()  # fresh soaks whose old report and log are gone
        self.damaged: set[str] = set()  # soaks whose TUNING_REPORT.json could not be read
        self.final: dict[str, GateResult | None] | None = None
        self.logs: dict[str, TextIO] = {}
        # a pytest_soak_report_entry that failed, a file that could not be written: the run fails
        self.problems: list[str] = []

    def _log(self, spec: SoakSpec, lines: list[str]) -> None:
        """Append to the soak's log, kept open for the session and flushed at each write."""
        try:
            log = self.logs.get(spec.name)
            if log is None:
                spec.out.mkdir(parents=True, exist_ok=True)
                log = self.logs[spec.name] = (spec.out / LOG_NAME).open(
                    "a", encoding="utf-8", newline="\n"
                )
            log.write("\n".join(lines) + "\n")
            log.flush()
        except OSError as exc:
            self._close_log(spec.name)  # its buffer holds what could not be written
            self._unwritable(f"{spec.out / LOG_NAME}: cannot write ({exc.strerror or exc})")

    def _close_log(self, name: str) -> None:
        """Close a soak's log; what a full disk kept in its buffer is lost, said already."""
        log = self.logs.pop(name, None)
        if log is not None:
            with suppress(OSError):
                log.close()

    def _unwritable(self, problem: str) -> None:
        """A file that could not be written: said once, on the terminal; the run fails."""
        if problem in self.problems:
            return
        self.problems.append(problem)
        say(self.config, f"soakwatch: {problem}")

    def _emit(self, spec: SoakSpec, lines: list[str]) -> None:
        """Show the lines live, in one write, and log them.

        Each starts a line of its own: under ``-q`` pytest leaves its line of
        progress dots open, and ``^| iter_watch`` must still find the marker.
        """
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            text = _line_start(terminal) + "\n".join(lines) + "\n"
            # escaped here: pytest would escape a text it cannot encode whole, newlines included
            stream = getattr(getattr(terminal, "_tw", None), "_file", None)
            terminal.write(showable(text, getattr(stream, "encoding", None)))
        self._log(spec, lines)

    def pytest_unconfigure(self) -> None:
        for name in list(self.logs):
            self._close_log(name)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """A fresh soak's iteration 1 starts: its runner removes the old ITER_SUMMARY files now,
        so the old report and log go too (a run stopped during it leaves no stale record)."""
        if nodeid.endswith("::iteration[1]"):
            spec = self._soak_of(nodeid)
            if spec is not None:
                self._clean(spec)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record an iteration once its item is done (after the terminal showed its outcome)."""
        spec = self._soak_of(report.nodeid)
        if spec is None:
            return
        self.ran.add(spec.name)
        if str(report.when) == "???":  # pytest-xdist: the worker died running this item
            self._crashed(spec, report)
            return
        if report.when != "teardown" or "::iteration[" not in report.nodeid:
            return
        found = soak_properties(report.user_properties)
        index = int(found["iteration"])
        report_path = spec.out / TUNING_REPORT
        if "error" in found or "kpi_verdict" not in found:
            message = str(found.get("error", "the iteration did not complete"))
            self.outcomes[spec.name][index] = Outcome(None)
            self.rows[spec.name].pop(index, None)
            self._emit(spec, [error_marker(index, message, spec.label)])
            self._keep_report(spec, lambda: remove_list_entry(report_path, "iteration", index))
            return
        entry = entry_from_properties(found)
        recorded, problem = self._adjusted(spec, entry)  # shown and judged: the iteration's own
        self.rows[spec.name][index] = _row(spec.name, index, entry)  # text: nothing for the GC
        self.outcomes[spec.name][index] = Outcome(entry["kpi_verdict"], tuple(entry["kpi_reasons"]))
        self._keep_report(spec, lambda: upsert_list_entry(report_path, recorded, key="iteration"))
        lines = iteration_markers(entry, spec.label)
        if problem is not None:
            self.problems.append(f"{spec.name} iteration {index}: {problem}")
            lines.append(warning_marker(index, f"{problem}; recorded as it was", spec.label))
        self._emit(spec, lines)

    def _adjusted(self, spec: SoakSpec, entry: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The entry to record, as the project's ``pytest_soak_report_entry`` adjusts it.

        The hook changes what TUNING_REPORT.json records, not the verdict (the gate
        item judges the iteration's own, on whichever process ran it). A hook that
        raises, or changes what the record is keyed and judged on, gives the entry
        as it was and the problem, which fails the run; the soak goes on.
        """
        hook = self.config.hook.pytest_soak_report_entry
        if not hook.get_hookimpls():
            return entry, None
        adjusted = copy.deepcopy(entry)
        try:
            hook(soak=spec.name, entry=adjusted)
        except (KeyboardInterrupt, SystemExit, pytest.exit.Exception):
            raise
        except BaseException as exc:  # pytest.fail and pytest.skip too: not an item's phase here
            return entry, f"pytest_soak_report_entry raised {_one_line(exc)}"
        problem = _unrecordable(adjusted, entry)
        return (entry, problem) if problem else (adjusted, None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._start_fresh([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._start_fresh(ids)

    def _start_fresh(self, nodeids: list[str]) -> None:
        """Note the soaks whose every iteration is collected: they start afresh once their
        first iteration runs (the worker running it removes its own files the same way)."""
        for name, spec in self.specs.items():
            prefix = f"{ROOT}::{name}::iteration["
            if sum(nodeid.startswith(prefix) for nodeid in nodeids) == spec.iterations:
                self.fresh.add(name)

    def _clean(self, spec: SoakSpec) -> None:
        """Remove an earlier run's report and log, once, as iteration 1 starts."""
        if spec.name in self.fresh and spec.name not in self.cleaned:
            self.cleaned.add(spec.name)
            self._close_log(spec.name)
            for path in (spec.out / TUNING_REPORT, spec.out / LOG_NAME):
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    self._unwritable(f"{path}: cannot remove ({exc.strerror or exc})")

    def _soak_of(self, nodeid: str) -> SoakSpec | None:
        """The soak a soak item's node id names (``soakwatch::NAME::...``), else ``None``."""
        parts = nodeid.split("::")
        return self.specs.get(parts[1]) if len(parts) == 3 and parts[0] == ROOT else None

    def _keep_report(self, spec: SoakSpec, update: Callable[[], None]) -> None:
        """Update TUNING_REPORT.json; one that was damaged by hand is set aside and restarted.
        One that cannot be written (a full disk) is a problem of the run, not a crash."""
        path = spec.out / TUNING_REPORT
        try:
            update()
            return
        except UnusableFile as exc:
            return self._unwritable(str(exc))
        except OSError as exc:
            return self._unwritable(f"{path}: cannot write ({exc.strerror or exc})")
        except SoakwatchError as exc:  # damaged: set aside, and a new report started
            damage = one_line(str(exc))
        try:
            aside = _free_name(path.with_name(TUNING_REPORT + ".damaged"))
            replace_file(path, aside)
            self._emit(spec, [f"| iter_watch | WARNING | {damage}; moved to {aside.name} |"])
            update()
        except OSError as exc:
            self._unwritable(f"{path}: cannot write ({exc.strerror or exc})")
        except SoakwatchError as exc:
            self._unwritable(str(exc))

    def _crashed(self, spec: SoakSpec, report: pytest.TestReport) -> None:
        if "::iteration[" not in report.nodeid:
            return
        index = int(report.nodeid.rsplit("[", 1)[1].rstrip("]"))
        self.outcomes[spec.name][index] = Outcome(None)
        self.rows[spec.name].pop(index, None)
        message = report.longreprtext.strip().splitlines()[-1]  # xdist puts the worker first
        self._emit(spec, [error_marker(index, message, spec.label)])

    def results(self) -> dict[str, GateResult | None]:
        """Each soak's verdict: its recorded outcomes with this session's on top (an iteration
        that broke has no entry in the record). Computed once the session is over."""
        if self.final is not None:
            return self.final
        results: dict[str, GateResult | None] = {}
        for name, spec in self.specs.items():
            try:
                outcomes = soak_outcomes(spec, self.outcomes[name])
            except SoakwatchError as exc:  # the gate refuses a damaged record
                self.damaged.add(name)
                results[name] = GateResult(None, (), True, str(exc))
                continue
            results[name] = judge(outcomes, spec.iterations, self.gate)
        return results

    def _table(self) -> list[str]:
        """The summary's table: a row per iteration of each soak that ran in this session."""
        rows = [TABLE_HEADER]
        for name, done in self.rows.items():
            rows += [done.get(i) or _row(name, i, None) for i in sorted(self.outcomes[name])]
        return rows

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.config.option.collectonly or not self.ran:
            return
        write = terminalreporter.write_line
        terminalreporter.section("soakwatch")
        write("\n".join(self._table()))  # one write: a long soak's table has thousands of rows
        if self.backstop:
            write(self.backstop, red=True)
        for name, result in self.results().items():
            if name not in self.ran:
                continue
            if result is None:
                write(f"soak {name!r}: no iteration ran", yellow=True)
                continue
            marker = gate_marker(result.verdict, result.reasons, self.specs[name].label)
            color = {"PASS": "green", "WARN": "yellow"}.get(str(result.verdict), "red")
            write(marker, **{color: True})

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report: dict[str, Any]) -> None:
        """pytest-json-report: each soak's verdict at the report's top level."""
        json_report["soakwatch"] = {
            name: None if result is None else result.as_json()
            for name, result in self.results().items()
            if name in self.ran
        }

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None]:
        """Backstop: a FAIL verdict (or a damaged record) fails the run even when the gate item
        was deselected. A final iteration that has not run yet only fails the gate item."""
        self.final = self.results()
        for name, result in self.final.items():  # logged here: also without a terminal
            if result is not None and name in self.ran:
                spec = self.specs[name]
                self._log(spec, [gate_marker(result.verdict, result.reasons, spec.label)])
        failing = [
            f"{name}: {result.message}"
            for name, result in self.final.items()
            if result is not None
            and name in self.ran
            and (result.verdict == "FAIL" or name in self.damaged)
        ]
        problems = []
        if failing and session.exitstatus == pytest.ExitCode.OK:  # else a failure says it
            problems.append("soakwatch: KPI gate failed: " + "; ".join(failing))
        problems += [f"soakwatch: {problem}" for problem in self.problems]
        if problems:
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.backstop = "\n".join(problems)
        return (yield)
