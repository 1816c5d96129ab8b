"""Several soaks in one run, serial and on pytest-xdist workers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import read_json

from pytest_soakwatch.distributed import soak_scope

ROOT = Path("artifacts/soak/latest")
TWO_SOAKS = ("--soak-iterations=3", "--soak-mock", "--soak-name=eu", "--soak-name=us:spike:7")


def outputs(root: Path) -> dict[str, bytes]:
    """Every file a soak run wrote under ``root``, with ITER_SUMMARY and TUNING_REPORT contents."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".jsonl", ".log")
    }


def test_named_soaks_have_their_own_items_files_markers_and_verdicts(
    soak: pytest.Pytester,
) -> None:
    result = soak.runpytest(*TWO_SOAKS, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "soakwatch::eu::iteration[[]1[]]",
            "soakwatch::eu::kpi_gate",
            "soakwatch::us::iteration[[]1[]]",
            "soakwatch::us::kpi_gate",
        ]
    )
    result = soak.runpytest(*TWO_SOAKS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=7, failed=1, warnings=7)
    result.stdout.fnmatch_lines(
        [
            "| iter_watch | SUMMARY | soak=eu iter=1 net=* kpi=WARN |",
            "| iter_watch | SUMMARY | soak=us iter=1 net=* kpi=WARN |",
            "| kpi_gate | soak=eu verdict=WARN | reasons=[[]EDGE:slippage] |",
            "| kpi_gate | soak=us verdict=FAIL | reasons=[[]*] |",
            "FAILED soakwatch::us::kpi_gate - Failed: KPI verdict FAIL after iteration 3*",
        ]
    )
    table = [line.split()[:2] for line in result.outlines if re.match(r"(eu|us) +\d ", line)]
    assert table == [["eu", "1"], ["eu", "2"], ["eu", "3"], ["us", "1"], ["us", "2"], ["us", "3"]]
    for name in ("eu", "us"):
        out = soak.path / ROOT / name
        assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 2, 3]
        assert read_json(out / "ITER_SUMMARY_1.json")["soak"] == name
        log = (out / "soakwatch.log").read_text(encoding="utf-8")
        assert f"soak={name} iter=3" in log
    spike = read_json(soak.path / ROOT / "us" / "artifacts" / "KPI_GATE.json")
    assert spike["verdict"] == "FAIL"


def test_soaks_declared_in_ini_and_environment(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makeini("[pytest]\nsoak_names =\n    alpha\n    beta:volatile\n")
    result = soak.runpytest("--soak-iterations=1", "--soak-mock")
    result.assert_outcomes(passed=4, warnings=4)
    assert (soak.path / ROOT / "beta" / "ITER_SUMMARY_1.json").is_file()
    monkeypatch.setenv("SOAKWATCH_NAMES", "gamma, delta")
    result = soak.runpytest("--soak-iterations=1", "--soak-mock")
    result.stdout.fnmatch_lines(["*soak=gamma iter=1*", "*soak=delta iter=1*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--soak-name=eu", "--soak-name=eu"], "*--soak-name: soak 'eu' is declared twice"),
        (["--soak-name=e/u"], "*--soak-name: expected NAME[[]:SCENARIO[[]:SEED]] *, got 'e/u'"),
        (["--soak-name=.."], "*--soak-name: soak name '..' starts or ends with '.' (it names *"),
        (["--soak-name=eu."], "*--soak-name: soak name 'eu.' starts or ends with '.'*"),
        (["--soak-name=Con.eu"], "*--soak-name: soak name 'Con.eu' is a device name on Windows*"),
        (
            ["--soak-name=btc", "--soak-name=BTC"],
            "*--soak-name: soak 'BTC' is declared twice (as 'btc': the same directory where*",
        ),
        (
            ["--soak-name=eu:storm"],
            "--soak-name 'eu:storm': scenario: expected one of calm, spike, volatile, got 'storm'",
        ),
        (["--soak-name=eu::3"], "--soak-name 'eu::3': scenario: expected one of *, got ''"),
        (["--soak-name=eu:calm:x"], "--soak-name 'eu:calm:x': seed: expected a whole number, *"),
    ],
)
def test_bad_soak_declaration_is_a_usage_error(
    soak: pytest.Pytester, args: list[str], message: str
) -> None:
    result = soak.runpytest("--soak-iterations=1", "--soak-mock", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("soakwatch::eu::iteration[3]", "soakwatch::eu"),
        ("soakwatch::us::kpi_gate", "soakwatch::us"),
        ("tests/test_a.py::test_net[eu-iter3]", "soakwatch::eu"),
        ("tests/test_a.py::test_net[x-eu-iter12-y]", "soakwatch::eu"),
        ("tests/test_a.py::test_net[neu-iter3]", None),
        ("tests/test_a.py::test_plain", None),
        ("tests/test_a.py::test_p[3]", None),
    ],
)
def test_soak_scope(nodeid: str, scope: str | None) -> None:
    assert soak_scope(nodeid, ["eu", "us"]) == scope


XDIST_PROJECT = """
import os

def test_net(soak_summary):
    assert soak_summary["net_bps"] is not None

def test_plain_{n}():
    pass
"""


@pytest.fixture
def xdist_project(soak: pytest.Pytester) -> pytest.Pytester:
    pytest.importorskip("xdist")
    soak.makepyfile(**{f"test_p{n}": XDIST_PROJECT.format(n=n) for n in range(4)})
    return soak


def test_xdist_runs_each_soak_in_order_on_one_worker(xdist_project: pytest.Pytester) -> None:
    serial = xdist_project.runpytest(*TWO_SOAKS)
    serial_files = outputs(xdist_project.path / ROOT)
    result = xdist_project.runpytest_subprocess(*TWO_SOAKS, "-n", "2", "-v")
    assert result.ret == serial.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes() == serial.parseoutcomes()
    assert outputs(xdist_project.path / ROOT) == serial_files

    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] \w+ (\S+)", result.stdout.str())
    for name in ("eu", "us"):
        mine = [(worker, nodeid) for worker, nodeid in ran if f"{name}" in nodeid]
        assert len({worker for worker, _ in mine}) == 1, mine
        assert [nodeid for _, nodeid in mine] == [
            f"soakwatch::{name}::iteration[1]",
            *[f"test_p{n}.py::test_net[{name}-iter1]" for n in range(4)],
            f"soakwatch::{name}::iteration[2]",
            *[f"test_p{n}.py::test_net[{name}-iter2]" for n in range(4)],
            f"soakwatch::{name}::iteration[3]",
            *[f"test_p{n}.py::test_net[{name}-iter3]" for n in range(4)],
            f"soakwatch::{name}::kpi_gate",
        ]
    workers = {
        worker for worker, nodeid in ran if nodeid.endswith(("eu::kpi_gate", "us::kpi_gate"))
    }
    assert workers == {"gw0", "gw1"}
    result.stdout.fnmatch_lines(["| kpi_gate | soak=us verdict=FAIL | reasons=[[]*] |"])


def test_fake_worker_writes_no_cumulative_files(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(config):
            config.workerinput = {"workerid": "gw7"}
        """
    )
    result = soak.runpytest(
        "--soak-iterations=2",
        "--soak-mock",
        "--soak-mock-scenario=spike",
        "-p",
        "no:rerunfailures",  # it would take the fake worker for a real one
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1, warnings=2)
    out = soak.path / ROOT
    assert (out / "ITER_SUMMARY_2.json").is_file()
    assert not (out / "TUNING_REPORT.json").exists()
    assert not (out / "soakwatch.log").exists()
    assert not [line for line in result.outlines if line.startswith("| ")]


CRASH_ONCE = """
import os

def pytest_soak_iteration_done(iteration, summary, tuning):
    if iteration.index == 2 and not os.path.exists("crashed-once"):
        open("crashed-once", "w").close()
        os._exit(3)
"""


def test_a_worker_that_crashes_mid_soak_fails_the_run(soak: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    soak.makeconftest(CRASH_ONCE)
    args = ("--soak-iterations=3", "--soak-mock", "-n", "1", "--max-worker-restart=0")
    result = soak.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*worker 'gw0' crashed while running 'soakwatch::default::iteration[[]2[]]'*"]
    )
    out = soak.path / ROOT
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1]
    log = (out / "soakwatch.log").read_text(encoding="utf-8")
    assert "| iter_watch | ERROR | iter=2 worker 'gw0' crashed" in log


def test_a_restarted_worker_goes_on_from_the_recorded_overrides(soak: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    soak.makeconftest(CRASH_ONCE)
    result = soak.runpytest_subprocess("--soak-iterations=3", "--soak-mock", "-n", "1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*crashed while running 'soakwatch::default::iteration[[]2[]]'*"])
    out = soak.path / ROOT
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 2, 3]
    rerun = read_json(out / "ITER_SUMMARY_2.json")
    assert rerun["overrides_source"] == "ITER_SUMMARY_1.json on disk"


def test_runs_with_the_integrations_disabled(soak: pytest.Pytester) -> None:
    """xdist and json-report hooks are optional: the plugin loads without them."""
    result = soak.runpytest(
        "--soak-iterations=2", "--soak-mock", "-p", "no:xdist", "-p", "no:json-report"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=3, warnings=3)
    result.stdout.fnmatch_lines(["| kpi_gate | verdict=WARN | reasons=[[]EDGE:slippage] |"])
