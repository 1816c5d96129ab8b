"""The examples in conftest_examples/ run as tests, so they cannot rot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "conftest_examples"


def copy_example(pytester: pytest.Pytester, name: str) -> None:
    shutil.copytree(EXAMPLES / name, pytester.path, dirs_exist_ok=True)


def test_driving_a_program_tunes_it_to_pass(soak: pytest.Pytester) -> None:
    copy_example(soak, "drive_a_program")
    result = soak.runpytest("--soak-iterations=3", "--soak-auto-tune")
    assert result.ret == 0
    result.assert_outcomes(passed=4, warnings=2)
    result.stdout.fnmatch_lines(["| kpi_gate | verdict=PASS | reasons=[[][]] |"])
    report = json.loads((soak.path / "artifacts/soak/latest/TUNING_REPORT.json").read_text())
    assert [e["kpi_verdict"] for e in report] == ["WARN", "WARN", "PASS"]
    assert [e["net_bps"] for e in report] == [3.5, 3.9, 4.3]


def test_driving_a_program_without_tuning_stays_warn(soak: pytest.Pytester) -> None:
    copy_example(soak, "drive_a_program")
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["| kpi_gate | verdict=WARN | reasons=[[]EDGE:slippage] |"])


def test_per_iteration_checks_run_after_each_iteration(soak: pytest.Pytester) -> None:
    copy_example(soak, "per_iteration_checks")
    result = soak.runpytest("--soak-iterations=2", "--soak-mock", "-v")
    assert result.ret == 0
    result.assert_outcomes(passed=13, warnings=3)
    result.stdout.fnmatch_lines(
        [
            "soakwatch::default::iteration[[]1[]] PASSED*",
            "test_soak_checks.py::test_edge_stays_positive[[]default-iter1[]] PASSED*",
            "soakwatch::default::iteration[[]2[]] PASSED*",
            "test_soak_checks.py::test_edge_stays_positive[[]default-iter2[]] PASSED*",
        ]
    )


def test_per_iteration_checks_catch_a_bad_soak(soak: pytest.Pytester) -> None:
    copy_example(soak, "per_iteration_checks")
    result = soak.runpytest("--soak-iterations=6", "--soak-mock", "--soak-mock-scenario=spike")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["FAILED test_soak_checks.py::test_edge_stays_positive[[]default-iter*"]
    )


def test_per_iteration_checks_skip_without_a_soak(soak: pytest.Pytester) -> None:
    copy_example(soak, "per_iteration_checks")
    result = soak.runpytest()
    assert result.ret == 0
    result.assert_outcomes(skipped=5)
