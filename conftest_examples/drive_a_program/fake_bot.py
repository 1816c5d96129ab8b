"""A stand-in for a market-making bot: reads its overrides, writes one iteration's artifacts.

It only exists so the example runs anywhere; a real system writes the same
files (EDGE_REPORT.json, KPI_GATE.json, EDGE_SENTINEL.json, audit.jsonl).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

overrides = json.loads(os.environ["MM_RUNTIME_OVERRIDES_JSON"])
out = Path(os.environ["SOAK_ARTIFACTS_DIR"])
iteration = int(os.environ["SOAK_ITERATION"])

# A wider spread costs gross edge but cuts slippage: enough for the example.
spread = overrides["base_spread_bps_delta"]
slippage = round(max(0.5, 3.5 - 20 * (spread - 0.14)), 2)
net = round(9.0 - slippage - 2.0, 2)
verdict = "WARN" if slippage > 3 else "PASS"
utc = f"2025-10-13T{12 + iteration // 2:02d}:{30 * (iteration % 2):02d}:00Z"

(out / "EDGE_REPORT.json").write_text(
    json.dumps(
        {
            "totals": {
                "net_bps": net,
                "gross_bps": 9.0,
                "slippage_bps": slippage,
                "slippage_bps_p95": slippage,
                "adverse_bps": 2.0,
                "neg_edge_drivers": ["slippage_bps"] if slippage > 2.5 else [],
            },
            "runtime": {"utc": utc, "version": "0.1.0"},
        }
    )
)
reasons = ["EDGE:slippage"] if verdict == "WARN" else []
(out / "KPI_GATE.json").write_text(json.dumps({"verdict": verdict, "reasons": reasons}))
(out / "EDGE_SENTINEL.json").write_text(json.dumps({"advice": []}))
with (out / "audit.jsonl").open("w") as audit:
    for n in range(10):
        fields = {"allowed": 1} if n % 5 else {"allowed": 0, "reason": "min_interval"}
        audit.write(json.dumps({"fields": fields, "kind": "PLACE", "symbol": "BTCUSDT"}) + "\n")
