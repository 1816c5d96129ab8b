"""``process_iteration``: summarize, advise, write the iteration's files, print the markers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import SoakwatchError
from .files import dumps, upsert_list_entry, write_atomic
from .kpi import Threshold
from .markers import iteration_markers, print_line
from .overrides import default_overrides
from .summary import summarize_iteration
from .tuning import DEFAULT_RULES, TuningRules, apply_tuning, propose_micro_tuning
from .values import MAX_ITERATION, numbers, whole_number
from .values import bounds as checked_bounds

TUNING_REPORT = "TUNING_REPORT.json"


def iter_summary_name(iteration: int) -> str:
    return f"ITER_SUMMARY_{iteration}.json"


def report_entry(
    iteration: int, summary: Mapping[str, Any], tuning: Mapping[str, Any]
) -> dict[str, Any]:
    """One TUNING_REPORT.json entry: the seed's fields plus drivers and KPI reasons."""
    return {
        "iteration": iteration,
        "runtime_utc": summary.get("runtime_utc"),
        "net_bps": summary.get("net_bps"),
        "kpi_verdict": summary.get("kpi_verdict"),
        "kpi_reasons": list(summary.get("kpi_reasons") or []),
        "neg_edge_drivers": summary.get("neg_edge_drivers", []),
        "suggested_deltas": dict(tuning.get("deltas") or {}),
        "rationale": tuning.get("rationale"),
        "applied": bool(tuning.get("applied")),
    }


def write_iteration_files(
    output_dir: Path,
    iteration: int,
    record: Mapping[str, Any],
    entry: dict[str, Any],
) -> None:
    """ITER_SUMMARY_N.json (atomically) and its entry in TUNING_REPORT.json."""
    write_atomic(output_dir / iter_summary_name(iteration), dumps(record) + "\n")
    upsert_list_entry(output_dir / TUNING_REPORT, entry, key="iteration")


def evaluate_iteration(
    iteration_idx: int,
    artifacts_dir: Path | str,
    current_overrides: Mapping[str, float] | None = None,
    *,
    auto_tune: bool = False,
    rules: TuningRules = DEFAULT_RULES,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> dict[str, Any]:
    """Summarize and advise without writing anything: the ITER_SUMMARY record.

    ``overrides`` is what the iteration ran with (``None``: the shipped
    defaults); ``next_overrides`` what the next one should run with (the
    advice applied within bounds when ``auto_tune``, else unchanged).
    """
    whole_number(iteration_idx, "iteration", 1, MAX_ITERATION)
    given = current_overrides
    overrides = default_overrides() if given is None else numbers(given, "current overrides")
    summary = summarize_iteration(artifacts_dir, thresholds)
    tuning = propose_micro_tuning(summary, overrides, rules)
    next_overrides = overrides
    if auto_tune and tuning["deltas"]:
        applied = apply_tuning(overrides, tuning["deltas"], bounds)
        next_overrides = applied["overrides"]
        tuning["applied"] = True
        tuning["clamped"] = applied["clamped"]
    return {
        "iteration": iteration_idx,
        "summary": summary,
        "tuning": tuning,
        "overrides": overrides,
        "next_overrides": next_overrides,
    }


def process_iteration(
    iteration_idx: int,
    artifacts_dir: Path | str,
    output_dir: Path | str,
    current_overrides: Mapping[str, float] | None = None,
    print_markers: bool = True,
    *,
    auto_tune: bool = False,
    rules: TuningRules = DEFAULT_RULES,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    thresholds: Mapping[str, Threshold] | None = None,
    soak: str | None = None,
    emit: Callable[[str], None] = print_line,
) -> dict[str, Any]:
    """All-in-one, as the seed's runner calls it after each iteration.

    Evaluates the iteration (:func:`evaluate_iteration`), writes
    ITER_SUMMARY_N.json and its TUNING_REPORT.json entry into ``output_dir``,
    emits the markers and returns the record.
    """
    if soak is not None and not isinstance(soak, str):
        raise SoakwatchError(f"soak: expected a name, got {soak!r}")
    if bounds is not None:  # refused before anything is written, used or not
        checked_bounds(bounds, "bounds")
    record = evaluate_iteration(
        iteration_idx,
        artifacts_dir,
        current_overrides,
        auto_tune=auto_tune,
        rules=rules,
        bounds=bounds,
        thresholds=thresholds,
    )
    if soak:
        record["soak"] = soak
    entry = report_entry(iteration_idx, record["summary"], record["tuning"])
    try:
        write_iteration_files(Path(output_dir), iteration_idx, record, entry)
    except OSError as exc:  # e.g. a file by the output directory's name
        place = exc.filename or output_dir
        raise SoakwatchError(f"{place}: cannot write ({exc.strerror or exc})") from None
    if print_markers:
        for line in iteration_markers(entry, soak):
            emit(line)
    return record
