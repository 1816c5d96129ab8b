"""The KPI gate: one rule, used by the gate item and by the session-finish backstop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .markers import one_line


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one iteration left for the gate: a verdict, or ``None`` when it broke."""

    verdict: str | None
    reasons: Sequence[str] = ()


@dataclass(frozen=True)
class GateResult:
    verdict: str | None
    reasons: Sequence[str]
    failed: bool
    message: str

    def as_json(self) -> dict[str, object]:
        return {"verdict": self.verdict, "reasons": list(self.reasons), "failed": self.failed}


def judge(outcomes: Mapping[int, Outcome], last: int, mode: str = "final") -> GateResult | None:
    """Judge a soak of ``last`` iterations from the outcomes known (``None`` if none are).

    ``final``: iteration ``last``'s verdict decides; ``any``: a FAIL anywhere
    fails too. Either way a last iteration without a verdict (it broke, or
    never ran) never passes.
    """
    if not outcomes:
        return None
    final = outcomes.get(last, Outcome(None))
    if final.verdict is None:
        return GateResult(None, (), True, f"iteration {last} produced no KPI verdict")
    if mode == "any":
        failing = sorted(i for i, o in outcomes.items() if o.verdict == "FAIL")
        if failing:
            shown = ", ".join(map(str, failing))
            reasons = [r for i in failing for r in outcomes[i].reasons]
            unique = list(dict.fromkeys(reasons))
            return GateResult("FAIL", unique, True, f"KPI verdict FAIL in iteration(s) {shown}")
    reasons = list(final.reasons)
    failed = final.verdict == "FAIL"
    message = f"KPI verdict {final.verdict} after iteration {last}"
    if reasons:
        message += f": {one_line(', '.join(reasons))}"
    return GateResult(final.verdict, reasons, failed, message)
