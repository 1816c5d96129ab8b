"""Running one soak's iterations in order, where the items run (a worker, or the only process)."""

from __future__ import annotations

import copy
import inspect
import os
import shutil
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from .errors import RUN_HOOK, RunnerError, SoakwatchError
from .files import dumps, read_json_list, replace_file, write_atomic
from .gate import Outcome
from .iteration import SoakIteration
from .kpi import VERDICTS
from .overrides import Overrides, validate_overrides
from .settings import Settings
from .strictjson import read_json_object
from .summary import AUDIT_LOG, EDGE_REPORT, EDGE_SENTINEL, KPI_GATE
from .watcher import TUNING_REPORT, evaluate_iteration, iter_summary_name

ARTIFACTS = (EDGE_REPORT, KPI_GATE, EDGE_SENTINEL, AUDIT_LOG)
LOG_NAME = "soakwatch.log"


@dataclass(frozen=True)
class SoakSpec:
    """A soak's identity: its name, where it writes, and its simulator scenario and seed."""

    name: str
    out: Path
    iterations: int
    scenario: str
    seed: int
    named: bool = False

    @property
    def label(self) -> str | None:
        """How markers name the soak: not at all for the one unnamed soak (the seed's lines)."""
        return self.name if self.named else None


@dataclass
class SoakRunner:
    """The overrides chain and results of one soak in this process.

    Only the last iterations' records stay in memory (see :meth:`_forget_before`);
    ``outcomes``, a verdict per iteration this session ran, is what the gate
    judges.
    """

    spec: SoakSpec
    settings: Settings
    base: Overrides
    hook: Any
    whole_soak_selected: bool = True
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    started_with: dict[int, dict[str, float]] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    iterations: dict[int, SoakIteration] = field(default_factory=dict)
    verdict_missing: set[int] = field(default_factory=set)
    mirrored: int | None = None

    def starting_overrides(self, index: int) -> tuple[dict[str, float], str]:
        """Where iteration ``index`` starts from, and a phrase saying so."""
        previous = index - 1
        if previous in self.records:
            return dict(self.records[previous]["next_overrides"]), f"iteration {previous}"
        if previous in self.started_with:
            return dict(self.started_with[previous]), f"iteration {previous} (unchanged: it broke)"
        # on disk, the nearest iteration before that has a record: one that broke has none,
        # and the ones after it started from the same overrides (a rerun, a new xdist worker)
        for earlier in range(previous, 0, -1):
            recorded = self.spec.out / iter_summary_name(earlier)
            if recorded.exists():
                values = read_json_object(recorded).get("next_overrides")
                if not isinstance(values, dict):
                    raise SoakwatchError(f"{recorded}: 'next_overrides' must be an object")
                checked = validate_overrides(values, str(recorded), self.settings.bounds)
                gap = f"s {earlier + 1}-{previous}" if earlier + 1 < previous else f" {previous}"
                skipped = "" if earlier == previous else f" (iteration{gap}: no record)"
                return checked, f"{recorded.name} on disk{skipped}"
        sources = " + ".join(dict.fromkeys(self.base.sources.values())) or "defaults"
        return dict(self.base.values), sources

    def load_recorded(self, index: int) -> bool:
        """Take iteration ``index``'s record from its ITER_SUMMARY (a run before this one)."""
        path = self.spec.out / iter_summary_name(index)
        if not path.exists():
            return False
        record = read_json_object(path)
        if not all(isinstance(record.get(key), dict) for key in ("summary", "tuning", "overrides")):
            raise SoakwatchError(f"{path}: not an ITER_SUMMARY record")
        self.records[index] = record
        self.iterations[index] = SoakIteration(
            soak=self.spec.name,
            index=index,
            total=self.spec.iterations,
            overrides=MappingProxyType(dict(record["overrides"])),
            artifacts_dir=self.spec.out / "iterations" / str(index),
            output_dir=self.spec.out,
            overrides_source=str(record.get("overrides_source", "recorded")),
            scenario=self.spec.scenario if self.settings.mock else None,
            seed=self.spec.seed,
        )
        return True

    def soak_outcomes(self) -> dict[int, Outcome]:
        """What the gate judges: the soak as recorded, with this session's iterations on top."""
        return soak_outcomes(self.spec, self.outcomes)

    def mirror(self, index: int, summary: Mapping[str, Any] | None = None) -> None:
        """Show iteration ``index``'s artifacts in ``<out>/artifacts`` (the seed's place), with
        the verdict computed from its ``summary`` where the iteration wrote none."""
        source, target = self.spec.out / "iterations" / str(index), self.spec.out / "artifacts"
        if index in self.verdict_missing:
            summary = None
        elif summary is None:  # no record to go by (an earlier run's that broke): no verdict
            summary = self._recorded_summary(index)
        try:
            mirror_latest(source, target, summary)
        except OSError as exc:  # e.g. a reader holding a file on Windows
            problem = f"cannot show iteration {index} there ({exc.strerror or exc})"
            raise SoakwatchError(f"{target}: {problem}") from None
        self.mirrored = index

    def _recorded_summary(self, index: int) -> Mapping[str, Any] | None:
        """Iteration ``index``'s summary, from memory or its ITER_SUMMARY (``None`` if unsure)."""
        if index in self.records:
            return self.records[index]["summary"]  # type: ignore[no-any-return]
        try:
            summary = read_json_object(self.spec.out / iter_summary_name(index)).get("summary")
        except SoakwatchError:
            return None
        return summary if isinstance(summary, dict) else None

    def finish(self) -> None:
        """At the end of a session: mirror the soak's last iteration on disk, if not done yet."""
        if not self.outcomes or self.mirrored == self.spec.iterations:
            return  # nothing ran, or the soak's last iteration is shown already
        iterations = self.spec.out / "iterations"
        try:
            on_disk = [
                int(path.name)
                for path in (iterations.iterdir() if iterations.is_dir() else ())
                if _is_number(path.name) and int(path.name) <= self.spec.iterations
            ]
        except OSError as exc:  # e.g. no permission to list it
            raise SoakwatchError(f"{iterations}: cannot read ({exc.strerror or exc})") from None
        last = max(on_disk, default=max(self.outcomes))
        if self.mirrored != last:
            self.mirror(last)

    def clean_outputs(self) -> None:
        """Remove the per-iteration files an earlier soak left (ours only; a user's stay).

        TUNING_REPORT.json and the log belong to the reporting side, which
        removes them itself.
        """
        out = self.spec.out
        try:
            for path in out.glob("ITER_SUMMARY_*.json"):
                if _is_number(path.stem.removeprefix("ITER_SUMMARY_")) and path.is_file():
                    path.unlink()
            for name in ARTIFACTS:
                (out / "artifacts" / name).unlink(missing_ok=True)
            if (out / "iterations").is_dir():
                for path in (out / "iterations").iterdir():
                    if _is_number(path.name) and _is_link(path):  # a runner's link
                        path.unlink()
                    elif _is_number(path.name) and path.is_dir():
                        shutil.rmtree(path)
        except OSError as exc:  # e.g. a reader holding a file on Windows
            problem = f"cannot remove what the last run left ({exc.strerror or exc})"
            raise SoakwatchError(f"{exc.filename or out}: {problem}") from None

    def run(self, index: int) -> dict[str, Any]:
        """Run iteration ``index``: the runner hook, then summary, advice and ITER_SUMMARY_N."""
        if index == 1 and self.whole_soak_selected:
            self.clean_outputs()
        try:
            overrides, source = self.starting_overrides(index)
        except BaseException:  # e.g. the last iteration's record is damaged
            with suppress(SoakwatchError):  # no earlier run's artifacts of it stay either
                _fresh_directory(self.spec.out / "iterations" / str(index))
            self._broke(index)
            raise
        self._forget_before(index)
        self.started_with[index] = overrides
        self.outcomes[index] = Outcome(None)
        self.verdict_missing.discard(index)  # a rerun (pytest-rerunfailures) starts afresh
        artifacts_dir = self.spec.out / "iterations" / str(index)
        iteration = SoakIteration(
            soak=self.spec.name,
            index=index,
            total=self.spec.iterations,
            overrides=MappingProxyType(dict(overrides)),
            artifacts_dir=artifacts_dir,
            output_dir=self.spec.out,
            overrides_source=source,
            scenario=self.spec.scenario if self.settings.mock else None,
            seed=self.spec.seed,
        )
        try:
            _fresh_directory(artifacts_dir)
            try:
                handled = self.hook.pytest_soak_run_iteration(iteration=iteration)
            except (SoakwatchError, KeyboardInterrupt, pytest.exit.Exception):
                raise  # said in one line already (the simulator's, say); or: stop, as asked
            except BaseException as exc:  # sys.exit() and pytest.fail() too: the runner failed
                raise RunnerError(exc) from exc
            if inspect.iscoroutine(handled) or inspect.isgenerator(handled):
                handled.close()  # never started: no "never awaited" warning
                kind = "a coroutine" if inspect.iscoroutine(handled) else "a generator"
                raise SoakwatchError(
                    f"{RUN_HOOK} returned {kind}: the hook must run the iteration itself "
                    "(pytest does not await an async def hook)"
                )
            if handled is None:
                pytest.fail(
                    f"nothing ran soak {self.spec.name!r} iteration {index}: pass --soak-mock, "
                    "or implement pytest_soak_run_iteration(iteration) in conftest.py",
                    pytrace=False,
                )
            record = evaluate_iteration(
                index,
                artifacts_dir,
                overrides,
                auto_tune=self.settings.auto_tune,
                rules=self.settings.rules,
                bounds=self.settings.bounds,
                thresholds=self.settings.thresholds,
            )
            record.update(soak=self.spec.name, overrides_source=source)
            _write_summary(self.spec.out / iter_summary_name(index), record)
            summary = record["summary"]
            outcome = Outcome(summary["kpi_verdict"], tuple(summary["kpi_reasons"]))
            self._observe(iteration, record)
            if index == self.spec.iterations:
                self.mirror(index, record["summary"])
        except BaseException:
            self._broke(index)
            raise
        self.records[index] = record
        self.iterations[index] = iteration
        self.outcomes[index] = outcome
        return record

    def _broke(self, index: int) -> None:
        """Iteration ``index`` broke: its checks skip, and no earlier run's record of it stays."""
        self.outcomes[index] = Outcome(None)
        self.verdict_missing.add(index)
        with suppress(OSError):  # not a stale one (unless it cannot be removed either)
            (self.spec.out / iter_summary_name(index)).unlink(missing_ok=True)
        if index == self.spec.iterations:
            with suppress(SoakwatchError):  # the error that broke it says more
                self.mirror(index)

    def _observe(self, iteration: SoakIteration, record: dict[str, Any]) -> None:
        """``pytest_soak_iteration_done``, given copies: the iteration is judged and recorded
        as ITER_SUMMARY_N.json has it. An observer that fails breaks the iteration."""
        hook = self.hook.pytest_soak_iteration_done
        if not hook.get_hookimpls():
            return
        summary, tuning = copy.deepcopy((record["summary"], record["tuning"]))
        try:
            hook(iteration=iteration, summary=summary, tuning=tuning)
        except (KeyboardInterrupt, pytest.exit.Exception):
            raise
        except BaseException as exc:  # sys.exit() and pytest.fail() too
            raise RunnerError(exc, "pytest_soak_iteration_done") from exc

    def _forget_before(self, index: int) -> None:
        """Drop what earlier iterations left in memory once the iteration after the next has
        started: the checks of an iteration run right after it, one that runs later reads its
        record back from ITER_SUMMARY_N.json, and an iteration run again (pytest-rerunfailures)
        starts again from its predecessor."""
        for kept in (self.records, self.iterations, self.started_with):
            for old in [k for k in kept if k + 1 < index and k + 1 in self.outcomes]:
                del kept[old]


_JUNCTION = 0xA0000003  # IO_REPARSE_TAG_MOUNT_POINT (in typeshed's stat on Windows only)


def _is_link(path: Path) -> bool:
    """A symbolic link, or a junction: the link Windows makes without a developer's privilege.

    Either is removed with ``unlink`` (its target stays); ``shutil.rmtree`` refuses both.
    """
    if path.is_symlink():
        return True
    if sys.version_info >= (3, 12):
        return os.path.isjunction(path)
    try:
        tag = getattr(os.lstat(path), "st_reparse_tag", 0)  # Windows only
    except OSError:
        return False
    return bool(tag == _JUNCTION)


def _fresh_directory(path: Path) -> None:
    """An empty directory for the iteration's artifacts (a re-run's replaces the last one's)."""
    try:
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            if _is_link(path):  # a runner's link to its own directory
                path.unlink()
            else:
                shutil.rmtree(path)
            path.mkdir()
    except OSError as exc:  # e.g. a file by that name
        raise SoakwatchError(
            f"{path}: cannot make the iteration's directory ({exc.strerror or exc})"
        ) from None


#: What a soak keeps in its output directory under these names.
_OWN_PLACES = {
    TUNING_REPORT: "a file",
    LOG_NAME: "a file",
    "artifacts": "a directory",
    "iterations": "a directory",
}


def check_output(out: Path) -> None:
    """Refuse, before anything runs, an output directory holding something in the way of the
    soak's own files (a directory named TUNING_REPORT.json, a file named iterations)."""
    if out.exists() and not out.is_dir():
        raise pytest.UsageError(f"soakwatch: {out} exists and is not a directory")
    for name, kind in _OWN_PLACES.items():
        path = out / name
        if path.exists() and not (path.is_file() if kind == "a file" else path.is_dir()):
            raise pytest.UsageError(
                f"soakwatch: {path} is in the way: the soak keeps {kind} there "
                "(remove it, or choose another --soak-out)"
            )


def _write_summary(path: Path, record: dict[str, Any]) -> None:
    """ITER_SUMMARY_N.json; a file system error is the iteration's one-line error."""
    try:
        write_atomic(path, dumps(record, indent=None) + "\n")
    except OSError as exc:
        raise SoakwatchError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _is_number(name: str) -> bool:
    """An iteration number as we write it (``str.isdigit`` also takes "²")."""
    return name.isascii() and name.isdigit()


def soak_outcomes(spec: SoakSpec, ran: Mapping[int, Outcome]) -> dict[int, Outcome]:
    """The soak as recorded, with the outcomes of the iterations this session ran on top.

    When the session ran every iteration, the record holds nothing they do not
    replace, and a long soak's TUNING_REPORT.json is not read again.
    """
    if len(ran) == spec.iterations:
        return dict(ran)
    return {**recorded_outcomes(spec), **ran}


def recorded_outcomes(spec: SoakSpec) -> dict[int, Outcome]:
    """The outcomes TUNING_REPORT.json holds (iterations that broke have no entry)."""
    report = spec.out / TUNING_REPORT
    if not report.is_file():
        return {}
    outcomes: dict[int, Outcome] = {}
    for entry in read_json_list(report):
        index, verdict = entry["iteration"], entry.get("kpi_verdict")
        reasons = entry.get("kpi_reasons") or []  # older reports have none
        if verdict not in VERDICTS or not (
            isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
        ):
            raise SoakwatchError(f"{report}: entry of iteration {index} has no valid verdict")
        if 1 <= index <= spec.iterations:
            outcomes[index] = Outcome(verdict, tuple(reasons))
    return outcomes


def mirror_latest(source: Path, target: Path, summary: Mapping[str, Any] | None) -> None:
    """Make ``target`` show the iteration's artifacts, hard-linked so large files are not doubled.

    The seed's CI reads ``<out>/artifacts/KPI_GATE.json``: an iteration that
    wrote none gets the verdict computed from the thresholds (when its
    ``summary`` says so), a file the iteration did not write is removed so a
    stale one never lingers, and so is the verdict of an iteration with no
    ``summary`` (it broke). Where hard links are not supported, files are copied.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in ARTIFACTS:
        origin, link = source / name, target / name
        if not origin.is_file() or (name == KPI_GATE and summary is None):
            link.unlink(missing_ok=True)
            continue
        staged = target / f".{name}.new"
        staged.unlink(missing_ok=True)
        real = os.path.realpath(origin)  # a runner's (relative) link: the file it points to
        try:
            os.link(real, staged)
        except OSError:
            shutil.copyfile(real, staged)
        replace_file(staged, link)
    if summary is not None and summary.get("kpi_source") == "computed":
        gate = {
            "verdict": summary.get("kpi_verdict"),
            "reasons": summary.get("kpi_reasons"),
            "source": "computed by pytest-soakwatch from the KPI thresholds",
        }
        write_atomic(target / KPI_GATE, dumps(gate) + "\n")
