"""``summarize_iteration``: one iteration's artifacts in, one plain summary dict out."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .audit import count_reasons
from .errors import SoakwatchError
from .kpi import VERDICTS, Threshold, evaluate_kpi
from .strictjson import read_json_object
from .values import mapping, optional_number

EDGE_REPORT = "EDGE_REPORT.json"
KPI_GATE = "KPI_GATE.json"
EDGE_SENTINEL = "EDGE_SENTINEL.json"
AUDIT_LOG = "audit.jsonl"

#: Metrics copied from EDGE_REPORT into the summary (missing ones are ``None``).
METRICS = (
    "net_bps",
    "gross_bps",
    "fees_eff_bps",
    "inventory_bps",
    "adverse_bps",
    "slippage_bps",
    "adverse_bps_p95",
    "slippage_bps_p95",
    "order_age_p95_ms",
    "ws_lag_p95_ms",
    "p95_latency_ms",
    "replace_ratio",
    "cancel_ratio",
    "maker_share_pct",
)
#: Costs that can drive a negative edge, in FORMATS.md's tie-break order.
DRIVER_CANDIDATES = ("fees_eff_bps", "slippage_bps", "adverse_bps", "inventory_bps")


def _number(value: Any, where: str) -> float | None:
    """A finite number as a float, or ``None`` (missing/null); booleans and strings are refused."""
    checked = optional_number(value, where)
    return None if checked is None else float(checked)


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SoakwatchError(f"{where}: expected an object")
    return value


def _edge_totals(report: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """The metrics block: ``total`` (older writers) wins over ``totals`` (current ones).

    Any metric may be missing, but not the block: a report without it (metrics
    at the top level, say) would otherwise pass the computed gate unmeasured.
    """
    for key in ("total", "totals"):
        if report.get(key) is not None:  # a null ``total`` holds nothing to win with
            return key, _object(report[key], f"{path}: {key!r}")
    raise SoakwatchError(f"{path}: no 'totals' object (or 'total'): the metrics go there")


def derive_drivers(metrics: Mapping[str, float | None]) -> list[str]:
    """FORMATS.md's rule for a report without ``neg_edge_drivers``."""
    net = metrics.get("net_bps")
    if net is None or net >= 0:
        return []
    present = [
        (-abs(value), order, key)
        for order, key in enumerate(DRIVER_CANDIDATES)
        if (value := metrics.get(key)) is not None
    ]
    return [key for _, _, key in sorted(present)[:2]]


def _read_edge(path: str) -> dict[str, Any]:
    report = read_json_object(path)
    key, totals = _edge_totals(report, path)
    where = f"{path}: {key}"
    breakdown = _object(totals.get("component_breakdown"), f"{where}.component_breakdown")
    metrics: dict[str, Any] = {}
    for name in METRICS:
        value = totals.get(name)
        if type(value) is not float or not math.isfinite(value):  # a finite float is fine as is
            value = _number(value, f"{where}.{name}")
            if value is None and name in breakdown:
                value = _number(breakdown[name], f"{where}.component_breakdown.{name}")
        metrics[name] = value

    drivers = totals.get("neg_edge_drivers")
    if drivers is None:
        metrics["neg_edge_drivers"] = derive_drivers(metrics)
        metrics["drivers_source"] = "derived"
    elif isinstance(drivers, list) and all(isinstance(d, str) for d in drivers):
        metrics["neg_edge_drivers"] = list(drivers)
        metrics["drivers_source"] = EDGE_REPORT
    else:
        raise SoakwatchError(f"{where}.neg_edge_drivers: expected a list of strings")

    blocks = _object(totals.get("block_reasons"), f"{where}.block_reasons")
    ratios: dict[str, float] = {}
    for reason, entry in blocks.items():
        entry_where = f"{where}.block_reasons.{reason}"
        if entry is not None and not isinstance(entry, dict):  # {"count": 15, "ratio": 0.5}
            raise SoakwatchError(f"{entry_where}: expected an object with a 'ratio'")
        ratio = _number((entry or {}).get("ratio"), f"{entry_where}.ratio")
        if ratio is not None:
            ratios[reason] = round(ratio if ratio > 1.0 else ratio * 100.0, 1)
    metrics["_edge_block_ratios"] = ratios

    runtime = _object(report.get("runtime"), f"{path}: runtime")
    utc = runtime.get("utc")
    if utc is not None and not isinstance(utc, str):
        raise SoakwatchError(f"{path}: runtime.utc: expected a string, got {utc!r}")
    metrics["runtime_utc"] = utc
    return metrics


def _read_kpi(path: str) -> tuple[str, list[str]]:
    gate = read_json_object(path)
    verdict = gate.get("verdict")
    if verdict not in VERDICTS:
        allowed = ", ".join(VERDICTS)
        raise SoakwatchError(f"{path}: verdict must be one of {allowed}, got {verdict!r}")
    reasons = gate.get("reasons")
    reasons = [] if reasons is None else reasons
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise SoakwatchError(f"{path}: reasons must be a list of strings")
    return str(verdict), list(reasons)


def _read_advice(path: str) -> list[str]:
    advice = read_json_object(path).get("advice")
    if advice is None:  # missing, like any field
        return []
    if not isinstance(advice, list) or not all(isinstance(a, str) for a in advice):
        raise SoakwatchError(f"{path}: advice must be a list of strings")
    return list(advice)


def _listing(directory: str) -> dict[str, bool]:
    """The directory's entries: name -> is a file (one system call for all the artifacts)."""
    try:
        with os.scandir(directory) as entries:
            return {entry.name: _is_file(entry) for entry in entries}
    except (FileNotFoundError, NotADirectoryError):
        raise SoakwatchError(f"{directory}: artifacts directory not found") from None
    except OSError as exc:  # no permission, a loop of symbolic links
        raise SoakwatchError(f"{directory}: cannot read ({exc.strerror or exc})") from None


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # e.g. a loop of symbolic links: not a file we can read
        return False


def _present(listing: dict[str, bool], directory: str, name: str) -> bool:
    """Whether an optional artifact is there; something else by its name is an error."""
    if name not in listing:
        return False
    if not listing[name]:
        raise SoakwatchError(f"{os.path.join(directory, name)}: not a file")
    return True


def summarize_iteration(
    artifacts_dir: Path | str,
    thresholds: Mapping[str, Threshold] | None = None,
) -> dict[str, Any]:
    """Read one iteration's artifacts and return the seed's summary plus what real files carry.

    EDGE_REPORT.json is required; KPI_GATE.json, EDGE_SENTINEL.json and
    audit.jsonl are used when present. Raises :class:`SoakwatchError` for any
    malformed file.
    """
    if thresholds is not None:
        mapping(thresholds, "thresholds")
    # normalised once (a Path already is), then joined as text
    directory = os.fspath(artifacts_dir if isinstance(artifacts_dir, Path) else Path(artifacts_dir))
    listing = _listing(directory)
    if EDGE_REPORT in listing and not listing[EDGE_REPORT]:
        raise SoakwatchError(f"{os.path.join(directory, EDGE_REPORT)}: not a file")
    edge = _read_edge(os.path.join(directory, EDGE_REPORT))
    edge_ratios = edge.pop("_edge_block_ratios")

    audit: dict[str, Any] | None = None
    if _present(listing, directory, AUDIT_LOG):
        counted = count_reasons(os.path.join(directory, AUDIT_LOG))
        blocks = {"ratios": counted.ratios(), "counts": counted.counts, "source": AUDIT_LOG}
        audit = {
            "lines": counted.lines,
            "truncated_lines": int(counted.truncated_last_line),
            "truncated_last_line": counted.truncated_last_line,
        }
    elif edge_ratios:
        blocks = {"ratios": edge_ratios, "source": EDGE_REPORT}
    else:
        blocks = {"ratios": {}, "source": None}

    if _present(listing, directory, KPI_GATE):
        verdict, reasons = _read_kpi(os.path.join(directory, KPI_GATE))
        kpi_source = KPI_GATE
    else:
        verdict, reasons = evaluate_kpi(edge, thresholds)
        kpi_source = "computed"

    return {
        **edge,
        "blocks": blocks,
        "audit": audit,
        "kpi_verdict": verdict,
        "kpi_reasons": reasons,
        "kpi_source": kpi_source,
        "sentinel_advice": _read_advice(os.path.join(directory, EDGE_SENTINEL))
        if _present(listing, directory, EDGE_SENTINEL)
        else [],
    }
