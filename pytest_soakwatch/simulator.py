"""The deterministic mock market: one soak iteration's artifacts, written without an exchange.

The closed loop (summarize -> propose -> apply -> next iteration) needs a market that answers the
overrides the way a market maker's does, reproducibly and in about a millisecond. Every number is
a pure function of (scenario, seed, iteration, overrides); the files use FORMATS.md's layouts.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import SoakwatchError
from .fsio import write_bytes
from .kpi import evaluate_kpi
from .overrides import default_overrides
from .values import MAX_ITERATION, numbers, shown, whole_number


@dataclass(frozen=True)
class Scenario:
    """Market conditions the overrides have to cope with."""

    description: str
    volatility: float = 1.0  # scales slippage, inventory, block pressure, lag and gross edge
    toxicity: float = 1.0  # informed flow: scales adverse selection
    drift: float = 0.0  # volatility added per iteration after the first
    ws_lag_ms: float = 70.0  # websocket lag p95 at volatility 1


SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        "calm": Scenario("steady book: slippage is the one cost worth tuning"),
        "volatile": Scenario(
            "informed flow and a slow feed: adverse selection the seed's rules cannot fix",
            toxicity=1.75,
            ws_lag_ms=100.0,
        ),
        "spike": Scenario("volatility climbs every iteration until the gate fails", drift=0.35),
    }
)
DEFAULT_SCENARIO = "calm"

#: Mean cost per component above which the writer names it a negative-edge driver.
DRIVER_BUDGETS_BPS: Mapping[str, float] = MappingProxyType(
    {"slippage_bps": 2.5, "adverse_bps": 2.5, "fees_eff_bps": 2.0, "inventory_bps": 1.5}
)
BLOCK_REASONS = ("min_interval", "concurrency", "risk", "throttle")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
KINDS = ("PLACE", "REPLACE", "CANCEL")
VERSION = "0.1.0"
_START = datetime(2025, 10, 13, 12, 0, 0)
_ITERATION_LENGTH = timedelta(minutes=30)
_MINUTE = timedelta(minutes=1)

#: Advice per KPI reason, driver or busy block reason; EDGE_SENTINEL lists the ones that apply.
_ADVICE = {
    "slippage_bps": "widen spread: slippage high",
    "EDGE:slippage": "widen spread: slippage high",
    "adverse_bps": "tighten impact_cap_ratio / max_delta_ratio: adverse selection high",
    "EDGE:adverse": "tighten impact_cap_ratio / max_delta_ratio: adverse selection high",
    "fees_eff_bps": "raise maker share: fees high",
    "inventory_bps": "skew quotes: inventory cost high",
    "EDGE:cancel_ratio": "raise tail_age_ms: cancel ratio high",
    "EDGE:order_age": "lower tail_age_ms: orders too old",
    "EDGE:ws_lag": "check the websocket feed: lag high",
    "EDGE:net_bps": "reduce exposure: net edge below the gate",
    "EDGE:maker_share": "quote more passively: maker share low",
    "min_interval": "tune throttle: raise min_interval_ms",
    "concurrency": "tune throttle: lower replace_rate_per_min",
}


def _market(
    sc: Scenario, o: Mapping[str, float], iteration: int, rng: random.Random
) -> dict[str, Any]:
    """The model: one iteration's raw metrics, and block shares in percent of audited actions.

    Each override is measured from the seed's default, where calm slippage sits just over its
    budget and one or two +0.02 spread steps bring it back; jitter is uniform, hence bounded.
    """

    def jitter(width: float) -> float:
        return rng.uniform(-width, width)

    vol = sc.volatility + sc.drift * (iteration - 1)
    spread = o["base_spread_bps_delta"] - 0.14
    tail, interval = o["tail_age_ms"] - 620, o["min_interval_ms"] - 65
    rate = o["replace_rate_per_min"] - 280
    caps = 1 + 4 * (o["impact_cap_ratio"] - 0.09) + 2 * (o["max_delta_ratio"] - 0.14)
    slippage = vol * max(0.3, 3.4 - 25 * spread - 0.002 * tail) + jitter(0.06)
    adverse = sc.toxicity * vol * max(0.4, 1.8 - 8 * spread) * caps + jitter(0.05)
    maker = 93 - 3 * (vol - 1) + 20 * spread + jitter(0.3)
    return {
        "gross_bps": 12 + 2 * (vol - 1) - 10 * spread + jitter(0.1),
        "fees_eff_bps": 1 + 0.02 * (100 - maker) + jitter(0.03),
        "slippage_bps": slippage,
        "adverse_bps": adverse,
        "inventory_bps": 0.6 * vol + jitter(0.05),
        "slippage_bps_p95": slippage * (1.2 + jitter(0.02)),
        "adverse_bps_p95": adverse * (1.7 + jitter(0.03)),
        "order_age_p95_ms": 274.5 + 0.1 * tail + 0.5 * interval + 10 * (vol - 1) + jitter(3),
        "ws_lag_p95_ms": sc.ws_lag_ms * (0.5 + 0.5 * vol) + jitter(3),
        "replace_ratio": 0.00105 * (280 + rate) * (0.9 + 0.1 * vol) + jitter(0.005),
        "cancel_ratio": 0.412 + 0.0004 * rate - 0.0002 * tail + 0.06 * (vol - 1) + jitter(0.01),
        "maker_share_pct": maker,
        "blocks": {
            "min_interval": 16 * vol - 0.6 * interval + jitter(1),
            "concurrency": 14 * vol + 0.15 * rate + jitter(1),
            "risk": 3 * vol + jitter(0.5),
            "throttle": 2 * vol + jitter(0.5),
        },
    }


def _block_counts(shares: Mapping[str, float], lines: int) -> dict[str, int]:
    """Percent shares -> whole audit lines; at most 90% of actions are blocked."""
    clean = {reason: max(0.0, share) for reason, share in shares.items()}
    scale = min(1.0, 90.0 / max(sum(clean.values()), 1e-9))
    counts: dict[str, int] = {}
    left = lines
    for reason in BLOCK_REASONS:
        counts[reason] = min(left, round(clean[reason] * scale * lines / 100))
        left -= counts[reason]
    return counts


def _drivers(breakdown: Mapping[str, float]) -> list[str]:
    """Cost components over their budget, largest first, at most two."""
    over = [k for k, budget in DRIVER_BUDGETS_BPS.items() if breakdown[k] > budget]
    return sorted(over, key=lambda k: -breakdown[k])[:2]


def _edge_totals(raw: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    """EDGE_REPORT's ``totals``: rounded, and net recomputed from the rounded components."""
    parts = ("gross_bps", "fees_eff_bps", "slippage_bps", "adverse_bps", "inventory_bps")
    b = {k: round(raw[k], 2) for k in parts}
    b["net_bps"] = round(b["gross_bps"] - sum(b[k] for k in parts[1:]), 2)
    blocked = sum(counts.values())
    return {
        "net_bps": b["net_bps"],
        "gross_bps": b["gross_bps"],
        "fees_eff_bps": b["fees_eff_bps"],
        "inventory_bps": b["inventory_bps"],
        **{k: round(raw[k], 2) for k in ("adverse_bps_p95", "slippage_bps_p95")},
        **{k: round(raw[k], 1) for k in ("order_age_p95_ms", "ws_lag_p95_ms")},
        "p95_latency_ms": round(150 + 1.2 * raw["ws_lag_p95_ms"], 1),
        "replace_ratio": round(raw["replace_ratio"], 3),
        "cancel_ratio": round(raw["cancel_ratio"], 3),
        "maker_share_pct": round(raw["maker_share_pct"], 2),
        "component_breakdown": b,
        "neg_edge_drivers": _drivers(b),
        "block_reasons": {
            r: {"count": n, "ratio": round(n / blocked, 4) if blocked else 0.0}
            for r, n in counts.items()
        },
    }


def _advice(drivers: list[str], kpi_reasons: list[str], shares: Mapping[str, float]) -> list[str]:
    """EDGE_SENTINEL advice: one line per problem, empty when all is well."""
    busy = [r for r, limit in (("min_interval", 35.0), ("concurrency", 30.0)) if shares[r] > limit]
    advice = [_ADVICE[key] for key in (*drivers, *kpi_reasons, *busy) if key in _ADVICE]
    return list(dict.fromkeys(advice))


_SECONDS = tuple(f"{n:02d}." for n in range(60))
_MILLIS_END = tuple(f'{n:03d}Z"}}' for n in range(1000))
_CLOCK = tuple(f"T{minute // 60:02d}:{minute % 60:02d}:" for minute in range(24 * 60))


def _head(kind: str, reason: str | None) -> str:
    """A line's text up to the previous line's hash."""
    fields = '{"allowed":1}' if reason is None else f'{{"allowed":0,"reason":"{reason}"}}'
    return f'{{"fields":{fields},"kind":"{kind}","prev_sha256":"'


#: A line's head by the noise byte that picks its kind: allowed actions, then each block reason
#: (an action blocked for ``min_interval`` is always a REPLACE).
_ALLOWED_HEADS = tuple(_head(KINDS[byte % len(KINDS)], None) for byte in range(256))
_BLOCKED_HEADS = {
    why: tuple(
        _head("REPLACE" if why == "min_interval" else KINDS[byte % len(KINDS)], why)
        for byte in range(256)
    )
    for why in BLOCK_REASONS
}
_SYMBOL_TS = tuple(f'"symbol":"{SYMBOLS[byte % len(SYMBOLS)]}","ts":"' for byte in range(256))


def _minute_stamps(start: datetime, count: int) -> list[str]:
    """``"YYYY-MM-DDTHH:MM:"`` for ``count`` minutes from ``start`` (formatted directly within
    a day, as ``isoformat`` would)."""
    first = start.hour * 60 + start.minute
    if start.second or start.microsecond or first + count > len(_CLOCK):
        return [f"{(start + m * _MINUTE).isoformat(timespec='minutes')}:" for m in range(count)]
    day = start.date().isoformat()
    return [day + clock for clock in _CLOCK[first : first + count]]


def _audit(rng: random.Random, counts: Mapping[str, int], lines: int, start: datetime) -> str:
    """audit.jsonl text: canonical JSON lines (sorted keys, compact), hash-chained.

    ``sha256`` is the hex SHA-256 of the line's canonical JSON without the ``sha256`` key;
    ``prev_sha256`` is the previous line's ``sha256`` ("GENESIS" on the first line). This is
    the simulator's hot path: the randomness comes from one ``randbytes`` call, and lines are
    assembled from precomputed pieces (equal to ``json.dumps(..., sort_keys=True,
    separators=(",", ":"))``), so that the loop does little but hash.
    """
    blocked = [r for r, n in counts.items() for _ in range(n)]
    positions = rng.sample(range(lines), len(blocked))
    noise = rng.randbytes(3 * lines)  # kind, symbol and a 0-255 ms jitter for each line
    heads = [_ALLOWED_HEADS[byte] for byte in noise[0::3]]
    for at, reason in zip(positions, blocked, strict=True):
        heads[at] = _BLOCKED_HEADS[reason][noise[3 * at]]
    slot = 1_800_000 // max(lines, 1)
    times = [i * slot + jitter for i, jitter in enumerate(noise[2::3])]  # ms from start
    # the latest line is not always the last one: jitter may move a line past the next
    stamps = _minute_stamps(start, max(times) // 60_000 + 1) if lines else []
    tails = [
        f"{_SYMBOL_TS[byte]}{stamps[ms // 60_000]}"
        f"{_SECONDS[ms % 60_000 // 1000]}{_MILLIS_END[ms % 1000]}"
        for byte, ms in zip(noise[1::3], times, strict=True)
    ]
    sha256, prev = hashlib.sha256, "GENESIS"
    out: list[str] = []
    append = out.append
    for head, tail in zip(heads, tails, strict=True):
        digest = sha256(f'{head}{prev}",{tail}'.encode()).hexdigest()
        append(f'{head}{prev}","sha256":"{digest}",{tail}\n')
        prev = digest
    return "".join(out)


def simulate_iteration(
    artifacts_dir: Path,
    overrides: Mapping[str, float],
    *,
    iteration: int,
    scenario: str = DEFAULT_SCENARIO,
    seed: int = 0,
    audit_lines: int = 100,
) -> None:
    """Write EDGE_REPORT.json, KPI_GATE.json, EDGE_SENTINEL.json and audit.jsonl for one iteration.

    Missing override keys take the shipped defaults. Same arguments, byte-identical files.
    """
    if not isinstance(scenario, str) or scenario not in SCENARIOS:
        known = ", ".join(sorted(SCENARIOS))
        raise SoakwatchError(f"mock scenario: expected one of {known}, got {shown(scenario)}")
    whole_number(iteration, "mock iteration", 1, MAX_ITERATION)
    whole_number(audit_lines, "mock audit_lines", 0)
    whole_number(seed, "mock seed", -(2**63), 2**63)
    values = {**default_overrides(), **numbers(overrides, "mock overrides")}
    rng = random.Random(f"{seed}:{scenario}:{iteration}")
    raw = _market(SCENARIOS[scenario], values, iteration, rng)
    counts = _block_counts(raw["blocks"], audit_lines)
    totals = _edge_totals(raw, counts)
    verdict, reasons = evaluate_kpi(totals)
    shares = {r: 100 * n / audit_lines if audit_lines else 0.0 for r, n in counts.items()}
    start = _START + (iteration - 1) * _ITERATION_LENGTH
    runtime = {"utc": f"{start.isoformat()}Z", "version": VERSION}
    documents: dict[str, Any] = {
        "EDGE_REPORT.json": {"totals": totals, "symbols": {}, "runtime": runtime},
        "KPI_GATE.json": {"verdict": verdict, "reasons": reasons, "runtime": runtime},
        "EDGE_SENTINEL.json": {
            "advice": _advice(totals["neg_edge_drivers"], reasons, shares),
            "runtime": runtime,
            "summary": {},
            "top": {},
        },
    }
    files = {name: f"{json.dumps(document)}\n".encode() for name, document in documents.items()}
    files["audit.jsonl"] = _audit(rng, counts, audit_lines, start).encode()
    try:
        for name, data in files.items():
            path = os.path.join(artifacts_dir, name)
            try:
                write_bytes(path, data)
            except FileNotFoundError:  # a runner hands over a directory; a library caller not
                Path(artifacts_dir).mkdir(parents=True, exist_ok=True)
                write_bytes(path, data)
    except OSError as exc:  # a full disk, a file by the directory's name
        problem = f"the simulator cannot write ({exc.strerror or exc})"
        raise SoakwatchError(f"{artifacts_dir}: {problem}") from None
