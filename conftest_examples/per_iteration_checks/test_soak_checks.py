"""Ordinary assertions about each soak iteration: each test runs once per iteration.

Run with ``pytest --soak-iterations=6 --soak-mock``: every test here becomes
``test_x[default-iter1]`` .. ``[default-iter6]`` and runs right after its
iteration. Without a soak they are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_soakwatch.iteration import SoakArtifacts


def test_edge_stays_positive(soak_summary: dict[str, Any]) -> None:
    assert soak_summary["net_bps"] > 0


def test_risk_blocks_stay_rare(soak_summary: dict[str, Any]) -> None:
    assert soak_summary["blocks"]["ratios"].get("risk", 0.0) < 10.0


def test_audit_log_is_complete(soak_summary: dict[str, Any]) -> None:
    assert soak_summary["audit"]["truncated_last_line"] is False


def test_verdict_file_is_written(soak_artifacts: SoakArtifacts) -> None:
    assert soak_artifacts.kpi_gate is not None
    assert soak_artifacts.kpi_gate["verdict"] in ("PASS", "WARN")


def test_overrides_stay_in_bounds(soak_overrides: Mapping[str, float]) -> None:
    assert 500 <= soak_overrides["tail_age_ms"] <= 800
