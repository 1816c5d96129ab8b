"""The KPI verdict: thresholds as data, and the rule that turns metrics into PASS/WARN/FAIL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SoakwatchError
from .values import mapping, optional_number, shown

VERDICTS = ("PASS", "WARN", "FAIL")


def inverted(warn: float | None, fail: float | None, higher_is_worse: bool) -> str | None:
    """``"above"`` or ``"below"`` where the warn limit lies past the fail limit, else ``None``."""
    if warn is None or fail is None or (warn - fail) * (1 if higher_is_worse else -1) <= 0:
        return None
    return "above" if higher_is_worse else "below"


@dataclass(frozen=True)
class Threshold:
    """WARN/FAIL limits of one metric; ``higher_is_worse`` says which side is bad."""

    reason: str
    warn: float | None
    fail: float | None
    higher_is_worse: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str):
            raise SoakwatchError(f"threshold reason: expected text, got {shown(self.reason)}")
        if not isinstance(self.higher_is_worse, bool):
            got = shown(self.higher_is_worse)
            raise SoakwatchError(
                f"threshold {self.reason} higher_is_worse: expected a bool, got {got}"
            )
        warn = optional_number(self.warn, f"threshold {self.reason} warn")  # NaN: never past
        fail = optional_number(self.fail, f"threshold {self.reason} fail")
        side = inverted(warn, fail, self.higher_is_worse)
        if side:
            raise SoakwatchError(f"threshold {self.reason}: warn {warn} is {side} fail {fail}")

    def level(self, value: float) -> str:
        """PASS, WARN or FAIL for ``value`` (limits are exclusive: equal is not past)."""

        def past(limit: float | None) -> bool:
            if limit is None:
                return False
            return value > limit if self.higher_is_worse else value < limit

        if past(self.fail):
            return "FAIL"
        if past(self.warn):
            return "WARN"
        return "PASS"


#: The real system's gate (FORMATS.md), keyed by the EDGE_REPORT metric it reads.
DEFAULT_THRESHOLDS: Mapping[str, Threshold] = {
    "adverse_bps_p95": Threshold("EDGE:adverse", 4.0, 6.0),
    "slippage_bps_p95": Threshold("EDGE:slippage", 3.0, 5.0),
    "cancel_ratio": Threshold("EDGE:cancel_ratio", 0.55, 0.70),
    "order_age_p95_ms": Threshold("EDGE:order_age", 330.0, 360.0),
    "ws_lag_p95_ms": Threshold("EDGE:ws_lag", 120.0, 180.0),
    "net_bps": Threshold("EDGE:net_bps", None, 2.5, higher_is_worse=False),
    "maker_share_pct": Threshold("EDGE:maker_share", None, 85.0, higher_is_worse=False),
}


def evaluate_kpi(
    metrics: Mapping[str, float | None],
    thresholds: Mapping[str, Threshold] | None = None,
) -> tuple[str, list[str]]:
    """Return ``(verdict, reasons)`` for the metrics present; missing ones are not judged.

    The verdict is the worst level reached; reasons list every metric past its
    WARN or FAIL limit, in threshold order.
    """
    table = DEFAULT_THRESHOLDS if thresholds is None else mapping(thresholds, "thresholds")
    metrics = mapping(metrics, "metrics")
    worst = 0
    reasons: list[str] = []
    for metric, threshold in table.items():
        if not isinstance(threshold, Threshold):
            got = shown(threshold)
            raise SoakwatchError(f"thresholds {metric}: expected a Threshold, got {got}")
        value = optional_number(metrics.get(metric), f"metric {metric}")
        if value is None:
            continue
        level = VERDICTS.index(threshold.level(value))
        if level:
            reasons.append(threshold.reason)
            worst = max(worst, level)
    return VERDICTS[worst], reasons
