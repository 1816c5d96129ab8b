"""What users and their systems do to a soak that it must survive with a clear word."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import read_json

OUT = "artifacts/soak/latest"
MOCK = ("--soak-mock",)
FAILING_CHECK = """
import os

def test_net(soak_summary, soak_iteration):
    assert not (os.environ.get("FAILIT") and soak_iteration.index == 2)
"""


def no_internal_error(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text
    assert "Traceback" not in text


def test_user_properties_with_our_names_are_left_alone(soak: pytest.Pytester) -> None:
    soak.makepyfile(
        """
        def test_plain(record_property):
            record_property("reasons", "flaky network")

        def test_checks(soak_iteration, record_property):
            record_property("soak", "mine")
            record_property("iteration", 99)
        """
    )
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == 0
    result.assert_outcomes(passed=6, warnings=3)
    no_internal_error(result)
    assert [e["iteration"] for e in read_json(soak.path / OUT / "TUNING_REPORT.json")] == [1, 2]


def test_a_hand_damaged_report_is_set_aside(soak: pytest.Pytester) -> None:
    assert soak.runpytest("--soak-iterations=3", *MOCK).ret == 0
    report = soak.path / OUT / "TUNING_REPORT.json"
    damaged = report.read_text()[:200]
    report.write_text(damaged)
    result = soak.runpytest("--soak-iterations=3", *MOCK, "soakwatch::default::iteration[2]")
    assert result.ret == 0
    no_internal_error(result)
    result.stdout.fnmatch_lines(["| iter_watch | WARNING | *TUNING_REPORT.json: invalid JSON*"])
    first_aside = soak.path / OUT / "TUNING_REPORT.json.damaged"
    assert first_aside.read_text() == damaged
    assert [e["iteration"] for e in read_json(report)] == [2]
    report.write_text("[")  # damaged again: the first copy set aside stays
    result = soak.runpytest("--soak-iterations=3", *MOCK, "soakwatch::default::iteration[1]")
    result.stdout.fnmatch_lines(
        ["| iter_watch | WARNING | *; moved to TUNING_REPORT.json.damaged.2 |"]
    )
    assert first_aside.read_text() == damaged
    assert (soak.path / OUT / "TUNING_REPORT.json.damaged.2").read_text() == "["


@pytest.mark.parametrize(
    "damage",
    [
        ('"kpi_verdict": "WARN"', '"kpi_verdict": "FAILED"'),
        ('"iteration": 1,', '"iteration": "1",'),
        ('"kpi_reasons": []', '"kpi_reasons": 5'),
    ],
    ids=["verdict", "iteration", "reasons"],
)
def test_gate_refuses_a_damaged_record(soak: pytest.Pytester, damage: tuple[str, str]) -> None:
    soak.makeconftest(
        """
        import json
        def pytest_soak_run_iteration(iteration):
            d = iteration.artifacts_dir
            (d / "EDGE_REPORT.json").write_text(json.dumps({"totals": {"net_bps": 3.0}}))
            (d / "KPI_GATE.json").write_text('{"verdict": "WARN", "reasons": []}')
            return True
        """
    )
    assert soak.runpytest("--soak-iterations=1").ret == 0
    report = soak.path / OUT / "TUNING_REPORT.json"
    text = report.read_text()
    assert damage[0] in text
    report.write_text(text.replace(*damage))
    result = soak.runpytest("--soak-iterations=1", "soakwatch::default::kpi_gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["SoakwatchError: *TUNING_REPORT.json: *"])
    no_internal_error(result)


def test_output_directory_that_is_a_file(soak: pytest.Pytester) -> None:
    soak.path.joinpath("outfile").write_text("")
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-out=outfile")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --soak-out: *outfile exists and is not a directory"])


def _nothing_there(path: object) -> os.stat_result:
    raise FileNotFoundError(2, "No such file or directory")


def _permission_denied(path: object) -> os.stat_result:
    raise PermissionError(13, "Permission denied")


@pytest.mark.parametrize(
    ("lstat", "problem"),
    [
        (_nothing_there, "no part of {out} exists"),  # Windows: a drive that is not there
        (_permission_denied, "cannot check {out} (Permission denied)"),
    ],
    ids=["nothing-exists", "permission-denied"],
)
def test_an_output_directory_that_cannot_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lstat: Any, problem: str
) -> None:
    from pytest_soakwatch import settings

    with monkeypatch.context() as patch:
        patch.setattr(settings.os, "lstat", lstat)
        with pytest.raises(pytest.UsageError) as raised:
            settings._directory("out", "--soak-out", tmp_path)
    assert str(raised.value) == "--soak-out: " + problem.format(out=tmp_path / "out")


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need a privilege there")
def test_a_broken_link_as_output_directory_is_a_usage_error(soak: pytest.Pytester) -> None:
    (soak.path / "out").symlink_to(soak.path / "gone")
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-out=out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        result.errlines[0]
        == f"ERROR: --soak-out: {soak.path / 'out'} exists and is not a directory"
    )


def test_the_default_output_directory_is_checked_too(soak: pytest.Pytester) -> None:
    (soak.path / "artifacts").write_text("")
    result = soak.runpytest("--soak-iterations=1", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0] == (
        f"ERROR: the default output directory: {soak.path / 'artifacts'} exists and is not a "
        "directory"
    )


def test_a_fresh_soak_removes_only_its_own_files(soak: pytest.Pytester) -> None:
    keep = [soak.path / "artifacts/reports/coverage.xml", soak.path / "iterations/notes.txt"]
    for path in keep:
        path.parent.mkdir(parents=True)
        path.write_text("mine")
    assert soak.runpytest("--soak-iterations=1", *MOCK, "--soak-out=.").ret == 0
    assert soak.runpytest("--soak-iterations=1", *MOCK, "--soak-out=.").ret == 0
    assert all(path.read_text() == "mine" for path in keep)
    assert (soak.path / "iterations/1/EDGE_REPORT.json").is_file()


def test_no_runner_under_xdist_errors_each_iteration_clearly(soak: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    soak.makepyfile("def test_a(): pass")
    result = soak.runpytest("--soak-iterations=2", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*nothing ran soak 'default' iteration 1: pass --soak-mock*"])
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize("option", ["--ff", "--nf", "-p no:randomly"])
def test_reordering_options_keep_checks_after_their_iterations(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    soak.makepyfile(FAILING_CHECK)
    monkeypatch.setenv("FAILIT", "1")
    soak.runpytest("--soak-iterations=3", *MOCK)
    result = soak.runpytest("--soak-iterations=3", *MOCK, option, "-v")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    result.stdout.fnmatch_lines(
        [
            "soakwatch::default::iteration[[]2[]] PASSED*",
            "*::test_net[[]default-iter2[]] FAILED*",
        ]
    )


def test_last_failed_check_is_judged_on_the_recorded_iteration(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makepyfile(FAILING_CHECK)
    monkeypatch.setenv("FAILIT", "1")
    soak.runpytest("--soak-iterations=3", *MOCK)
    result = soak.runpytest("--soak-iterations=3", *MOCK, "--lf", "-k", "test_net")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes.get("passed", 0)) == (1, 0)


def test_runs_that_judge_nothing_ignore_an_old_fail(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_a(): pass")
    spike = ("--soak-iterations=2", *MOCK, "--soak-mock-scenario=spike")
    assert soak.runpytest(*spike).ret == pytest.ExitCode.TESTS_FAILED
    assert soak.runpytest(*spike, "--collect-only").ret == 0
    result = soak.runpytest(*spike, "-m", "not soakwatch")
    assert result.ret == 0
    result.assert_outcomes(passed=1, deselected=3)


def test_an_iteration_that_breaks_on_a_rerun_loses_its_old_record(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makeconftest(
        """
        import json, os
        def pytest_soak_run_iteration(iteration):
            if os.environ.get("BREAK") == str(iteration.index):
                return True  # writes nothing
            d = iteration.artifacts_dir
            (d / "EDGE_REPORT.json").write_text(json.dumps({"totals": {"net_bps": 3.0}}))
            (d / "KPI_GATE.json").write_text('{"verdict": "PASS", "reasons": []}')
            return True
        """
    )
    assert soak.runpytest("--soak-iterations=3").ret == 0
    monkeypatch.setenv("BREAK", "3")
    result = soak.runpytest("--soak-iterations=3", "soakwatch::default::iteration[3]")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = soak.path / OUT
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 2]
    assert not (out / "ITER_SUMMARY_3.json").exists()
    result = soak.runpytest("--soak-iterations=3", "soakwatch::default::kpi_gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the final iteration has no verdict now
    result.stdout.fnmatch_lines(["*iteration 3 produced no KPI verdict"])


def test_an_iteration_whose_predecessor_record_is_damaged_keeps_no_old_record(
    soak: pytest.Pytester,
) -> None:
    soak.makepyfile(FAILING_CHECK)
    assert soak.runpytest("--soak-iterations=3", *MOCK).ret == 0
    out = soak.path / OUT
    (out / "ITER_SUMMARY_2.json").write_text('{"summary": {', encoding="utf-8")
    result = soak.runpytest(
        "--soak-iterations=3", *MOCK, "-rs", "-k", "iteration and 3 or iter3 and test_net"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    result.assert_outcomes(errors=1, skipped=1, deselected=5)
    result.stdout.fnmatch_lines(["*ITER_SUMMARY_2.json*", "SKIPPED*iteration 3 broke*"])
    assert not (out / "ITER_SUMMARY_3.json").exists()
    assert list((out / "iterations" / "3").iterdir()) == []  # the last run's files are gone
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 2]


def test_a_restarted_worker_keeps_the_log(soak: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    soak.makeconftest(
        """
        import os
        def pytest_soak_iteration_done(iteration, summary, tuning):
            if not os.path.exists("crashed-once"):
                open("crashed-once", "w").close()
                os._exit(3)
        """
    )
    result = soak.runpytest_subprocess("--soak-iterations=3", *MOCK, "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8")
    assert "| iter_watch | ERROR | iter=1 worker" in log
    assert "| iter_watch | SUMMARY | iter=3 " in log


def test_an_artifact_that_is_a_directory_is_an_error(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        import json
        def pytest_soak_run_iteration(iteration):
            d = iteration.artifacts_dir
            (d / "EDGE_REPORT.json").write_text(json.dumps({"totals": {"net_bps": 3.0}}))
            (d / "KPI_GATE.json").mkdir()
            return True
        """
    )
    result = soak.runpytest("--soak-iterations=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["ERROR soakwatch::default::iteration[[]1[]] - *KPI_GATE.json: not a file"]
    )


def test_dist_each_is_refused(soak: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = soak.runpytest("--soak-iterations=1", *MOCK, "-n", "2", "--dist", "each")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: soakwatch: --dist each would run every soak*"])


def test_checks_reach_their_soak_whatever_their_other_parameters(soak: pytest.Pytester) -> None:
    """A fixture parameter "b" and soak "a" give the id "b-a-iter1": it belongs to soak a."""
    pytest.importorskip("xdist")
    soak.makepyfile(
        """
        import pytest

        @pytest.fixture(params=["b"])
        def other(request):
            return request.param

        def test_check(other, soak_summary, soak_iteration):
            pass
        """
    )
    args = ("--soak-iterations=2", *MOCK, "--soak-name=a", "--soak-name=b")
    serial = soak.runpytest(*args)
    result = soak.runpytest_subprocess(*args, "-n", "2")
    assert result.parseoutcomes() == serial.parseoutcomes()
    assert "skipped" not in result.parseoutcomes()


def test_soak_names_cannot_hold_a_dash(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-name=b-a")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --soak-name: expected NAME*, got 'b-a'"])


def test_collect_only_and_x_keep_the_previous_report(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_a(): assert False")
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == pytest.ExitCode.TESTS_FAILED
    report = soak.path / OUT / "TUNING_REPORT.json"
    before = report.read_bytes()
    assert soak.runpytest("--soak-iterations=2", *MOCK, "--collect-only").ret == 0
    assert soak.runpytest("--soak-iterations=2", *MOCK, "-x").ret == pytest.ExitCode.TESTS_FAILED
    assert report.read_bytes() == before
    assert (soak.path / OUT / "soakwatch.log").is_file()


def test_gate_needs_the_final_iteration(soak: pytest.Pytester) -> None:
    """A record of 2 iterations does not pass the gate of a 5-iteration soak."""
    assert soak.runpytest("--soak-iterations=2", *MOCK, "--soak-auto-tune").ret == 0
    result = soak.runpytest("--soak-iterations=5", *MOCK, "soakwatch::default::kpi_gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*iteration 5 produced no KPI verdict"])


def test_a_damaged_record_is_not_a_pass(soak: pytest.Pytester) -> None:
    spike = ("--soak-iterations=4", *MOCK, "--soak-mock-scenario=spike")
    assert soak.runpytest(*spike).ret == pytest.ExitCode.TESTS_FAILED
    (soak.path / OUT / "TUNING_REPORT.json").write_text('[\n{"iteration": 1,')
    result = soak.runpytest(*spike, "soakwatch::default::iteration[1]")
    assert result.ret == 0  # iteration 1 itself passes; the soak's final verdict is unknown
    result.stdout.fnmatch_lines(["| kpi_gate | verdict=NONE | reasons=[[][]] |"])
    assert soak.runpytest(*spike, "soakwatch::default::kpi_gate").ret == 1


def test_a_session_that_ran_every_iteration_judges_them_without_the_record(
    tmp_path: Path,
) -> None:
    """The record holds nothing such a session does not replace, so it is not read again."""
    from pytest_soakwatch.errors import SoakwatchError
    from pytest_soakwatch.gate import Outcome
    from pytest_soakwatch.runner import SoakSpec, soak_outcomes

    out = tmp_path
    (out / "TUNING_REPORT.json").write_text('[\n{"iteration": 1,')  # cut short
    spec = SoakSpec("default", out, iterations=2, scenario="calm", seed=0)
    ran = {2: Outcome("PASS"), 1: Outcome("WARN", ("p95_latency",))}
    assert soak_outcomes(spec, ran) == ran
    with pytest.raises(SoakwatchError, match=r"TUNING_REPORT\.json: invalid JSON"):
        soak_outcomes(spec, {2: Outcome("PASS")})


def test_backstop_refuses_a_record_with_unknown_verdicts(soak: pytest.Pytester) -> None:
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    report = soak.path / OUT / "TUNING_REPORT.json"
    report.write_text(report.read_text().replace('"WARN"', '"FAILED"'))
    result = soak.runpytest("--soak-iterations=2", *MOCK, "soakwatch::default::iteration[1]")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["soakwatch: KPI gate failed: default: *no valid verdict"])


@pytest.mark.parametrize("layout", ["file-as-parent", "named-soak-is-a-file"])
def test_output_paths_blocked_by_files(soak: pytest.Pytester, layout: str) -> None:
    soak.path.joinpath("afile").write_text("")
    soak.path.joinpath("d").mkdir()
    soak.path.joinpath("d", "x").write_text("")
    args = (
        ["--soak-out=afile/sub"]
        if layout == "file-as-parent"
        else ["--soak-out=d", "--soak-name=x"]
    )
    result = soak.runpytest("--soak-iterations=1", *MOCK, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *exists and is not a directory"])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("TUNING_REPORT.json", "a file"),
        ("soakwatch.log", "a file"),
        ("iterations", "a directory"),
        ("artifacts", "a directory"),
    ],
)
@pytest.mark.parametrize(
    "selection", [[], ["soakwatch::default::iteration[2]"]], ids=["all", "one"]
)
def test_something_in_the_way_of_the_soaks_files_is_a_usage_error(
    soak: pytest.Pytester, name: str, kind: str, selection: list[str]
) -> None:
    in_the_way = soak.path / OUT / name
    if kind == "a file":
        (in_the_way / "x").mkdir(parents=True)
    else:
        in_the_way.parent.mkdir(parents=True)
        in_the_way.write_text("")
    result = soak.runpytest("--soak-iterations=2", *MOCK, *selection)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines == [
        f"ERROR: soakwatch: {in_the_way} is in the way: the soak keeps {kind} there "
        "(remove it, or choose another --soak-out)",
        "",
    ]


def patched(module: str, name: str, replacement: str) -> str:
    """A conftest that replaces ``pytest_soakwatch.MODULE.NAME`` for the run with the function
    ``replacement`` defined by the code given (it may call ``real``), and puts it back after."""
    return f"""
import importlib
from pytest_soakwatch.files import UnusableFile

# the module the plugin uses (pytester may have left an older one on the package)
target = importlib.import_module("pytest_soakwatch.{module}")
real = target.{name}

{replacement}

def pytest_configure():
    target.{name} = replacement

def pytest_unconfigure():
    target.{name} = real
"""


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        ('OSError(28, "No space left on device")', "No space left on device"),
        ('UnusableFile(f"{path}: cannot write (Permission denied)")', "Permission denied"),
    ],
    ids=["disk-full", "read-only"],
)
def test_a_report_that_cannot_be_written_fails_the_run_and_the_soak_goes_on(
    soak: pytest.Pytester, error: str, problem: str
) -> None:
    failing_at_2 = (
        "def replacement(path, entry, key):\n"
        f"    if entry['iteration'] == 2:\n        raise {error}\n"
        "    real(path, entry, key)\n"
    )
    soak.makeconftest(patched("reporting", "upsert_list_entry", failing_at_2))
    result = soak.runpytest("--soak-iterations=3", *MOCK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=4, warnings=4)  # WARN: each iteration's, and the gate's
    report = soak.path / OUT / "TUNING_REPORT.json"
    line = f"soakwatch: {report}: cannot write ({problem})"
    assert result.outlines.count(line) == 2  # as it happens, and at the end
    assert [e["iteration"] for e in read_json(report)] == [1, 3]  # not set aside as damaged
    assert not list((soak.path / OUT).glob("*.damaged*"))
    no_internal_error(result)


def test_a_log_that_cannot_be_written_fails_the_run_without_a_traceback(
    soak: pytest.Pytester,
) -> None:
    soak.makeconftest(
        """
        import pytest

        class FullDisk:
            def write(self, *text):
                raise OSError(28, "No space left on device")

            flush = close = write

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logreport(report):
            if report.nodeid.endswith("iteration[1]") and report.when == "teardown":
                reporter = pytest.soak_config.pluginmanager.get_plugin("soakwatch-reporter")
                reporter.logs["default"] = FullDisk()  # the open log, on a disk now full

        def pytest_configure(config):
            pytest.soak_config = config
        """
    )
    result = soak.runpytest("--soak-iterations=3", *MOCK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    log = soak.path / OUT / "soakwatch.log"
    assert f"soakwatch: {log}: cannot write (No space left on device)" in result.outlines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "| iter_watch | SUMMARY | iter=3 " in log.read_text(encoding="utf-8")  # reopened


def _permission_denied_access(path: object, mode: int) -> bool:
    return False


def test_an_output_directory_that_cannot_be_written_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_soakwatch import settings

    monkeypatch.setattr(settings.os, "access", _permission_denied_access)
    with pytest.raises(pytest.UsageError) as raised:
        settings._directory("out", "--soak-out", tmp_path)
    assert str(raised.value) == f"--soak-out: cannot write in {tmp_path}"


def test_an_iteration_directory_that_cannot_be_made_breaks_that_iteration(
    soak: pytest.Pytester,
) -> None:
    (soak.path / OUT / "iterations").mkdir(parents=True)
    (soak.path / OUT / "iterations" / "2").write_text("")
    result = soak.runpytest("--soak-iterations=2", *MOCK, "soakwatch::default::iteration[2]")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["ERROR soakwatch::default::iteration[[]2[]] - Failed: *iterations?2: cannot make the *"]
    )
    assert len(result.outlines) < 40
    no_internal_error(result)


def test_one_test_picked_by_node_id_runs_without_the_soak(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makepyfile(
        """
        def test_other():
            pass

        def test_net(soak_summary):
            assert soak_summary["kpi_verdict"] == "WARN"
        """
    )
    monkeypatch.setenv("SOAKWATCH_ITERATIONS", "2")
    monkeypatch.setenv("SOAKWATCH_MOCK", "1")
    assert soak.runpytest().ret == 0
    name = "test_one_test_picked_by_node_id_runs_without_the_soak.py"
    result = soak.runpytest(f"{name}::test_other")
    result.assert_outcomes(passed=1)
    result = soak.runpytest(f"{name}::test_net[default-iter2]")
    result.assert_outcomes(passed=1)  # checked against iteration 2's record
    result = soak.runpytest(name)
    result.assert_outcomes(passed=6, warnings=3)  # a file: the soak runs


def test_a_directory_named_like_a_number_but_not_ascii_is_left_alone(soak: pytest.Pytester) -> None:
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    (soak.path / OUT / "iterations" / "\u00b2").mkdir()
    result = soak.runpytest("--soak-iterations=2", *MOCK, "soakwatch::default::iteration[2]")
    assert result.ret == 0
    no_internal_error(result)
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    assert (soak.path / OUT / "iterations" / "\u00b2").is_dir()


# --- a soak's output is not walked for tests; memory does not keep every iteration --------

INSIDE_ITERATIONS = "artifacts/soak/latest/iterations/1/test_inside.py"


@pytest.mark.parametrize("soak_option", [(), ("--soak-iterations=2", *MOCK)], ids=["off", "on"])
def test_collection_skips_a_soaks_iteration_directories(
    soak: pytest.Pytester, soak_option: tuple[str, ...]
) -> None:
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    for path in (INSIDE_ITERATIONS, "tests/iterations/test_kept.py"):  # the second is not ours
        (soak.path / path).parent.mkdir(parents=True, exist_ok=True)
        (soak.path / path).write_text("def test_x(): pass\n")
    result = soak.runpytest("--collect-only", "-q", *soak_option)
    assert result.ret == 0
    assert "tests/iterations/test_kept.py::test_x" in result.outlines
    assert not [line for line in result.outlines if "test_inside" in line]


#: A project's plugin that collects every JSON file as a test (JSON test cases, say).
JSON_CASES = """
import pytest

class Case(pytest.Item):
    def runtest(self):
        pass

class CaseFile(pytest.File):
    def collect(self):
        yield Case.from_parent(self, name="case")

def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".json":
        return CaseFile.from_parent(parent, path=file_path)
"""


def test_collection_skips_a_soaks_iter_summary_files(soak: pytest.Pytester) -> None:
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    soak.makeconftest(JSON_CASES)
    (soak.path / "cases").mkdir()
    # not a soak's: the first has no TUNING_REPORT.json beside it, the second no number
    for name in ("cases/ITER_SUMMARY_1.json", f"{OUT}/ITER_SUMMARY_notes.json"):
        (soak.path / name).write_text("{}")
    result = soak.runpytest("--collect-only", "-q")
    assert result.ret == 0
    assert f"{OUT}/TUNING_REPORT.json::case" in result.outlines  # the plugin at work
    assert sorted(line for line in result.outlines if "ITER_SUMMARY" in line) == [
        f"{OUT}/ITER_SUMMARY_notes.json::case",
        "cases/ITER_SUMMARY_1.json::case",
    ]


def test_output_marks_are_the_files_a_soak_writes() -> None:
    from pytest_soakwatch.plugin import SOAK_OUTPUT_MARKS
    from pytest_soakwatch.runner import LOG_NAME
    from pytest_soakwatch.watcher import TUNING_REPORT

    assert set(SOAK_OUTPUT_MARKS) == {TUNING_REPORT, LOG_NAME}


CHECKS_LAST = """
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    # another plugin that moves every check after the whole soak
    checks = [i for i in session.items if "soak_iteration" in getattr(i, "fixturenames", ())]
    session.items[:] = [i for i in session.items if i not in checks] + checks
"""
CHECK_AGAINST_THE_FILE = """
import json

def test_record(soak_iteration, soak_summary, soak_overrides):
    path = soak_iteration.output_dir / f"ITER_SUMMARY_{soak_iteration.index}.json"
    recorded = json.loads(path.read_text())
    assert soak_summary == recorded["summary"]
    assert dict(soak_overrides) == recorded["overrides"]
    print("CHECKED", soak_iteration.index, "from", soak_iteration.overrides_source)
"""


def test_a_check_run_after_later_iterations_gets_its_own_iteration(soak: pytest.Pytester) -> None:
    soak.makeconftest(CHECKS_LAST)
    soak.makepyfile(CHECK_AGAINST_THE_FILE)
    result = soak.runpytest("--soak-iterations=3", *MOCK, "--soak-auto-tune", "-v", "-s")
    assert result.ret == 0
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "soakwatch::default::kpi_gate PASSED*",
            "*CHECKED 1 from *",
            "*CHECKED 2 from iteration 1*",
            "*CHECKED 3 from iteration 2*",
        ]
    )


def test_a_broken_iteration_checked_after_later_ones_is_skipped(soak: pytest.Pytester) -> None:
    from test_plugin import BREAKERS, runner_conftest

    soak.makeconftest(runner_conftest(broken={1: BREAKERS["missing"]}) + CHECKS_LAST)
    soak.makepyfile(CHECK_AGAINST_THE_FILE)
    result = soak.runpytest("--soak-iterations=3", "-rs")
    result.assert_outcomes(passed=5, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*soak 'default' iteration 1 broke"])


# --- order, reruns and a summary that cannot be written ----------------------------------

PRINT_SOURCES = """

def pytest_soak_iteration_done(iteration, summary, tuning):
    print("RAN", iteration.index, "FROM", iteration.overrides_source)
"""


def test_failed_first_still_runs_a_soak_in_order(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_plugin import RUNNER

    breaking = "BROKEN = {i: (lambda d: (d / 'EDGE_REPORT.json').unlink()) for i in WHICH}\n"
    soak.makeconftest(
        "import os\nVERDICTS = {}\nREASONS = {}\n"
        "WHICH = [int(i) for i in os.environ.get('BREAK', '').split(',') if i]\n"
        + breaking
        + RUNNER
        + PRINT_SOURCES
    )
    monkeypatch.setenv("BREAK", "2,4")
    assert soak.runpytest("--soak-iterations=5").ret == pytest.ExitCode.TESTS_FAILED
    monkeypatch.delenv("BREAK")
    result = soak.runpytest("--soak-iterations=5", "--ff", "-v", "-s")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*iteration[[]1[]]*RAN 1 FROM *",
            "*iteration[[]2[]]*RAN 2 FROM iteration 1*",
            "*iteration[[]3[]]*RAN 3 FROM iteration 2*",
            "*iteration[[]4[]]*RAN 4 FROM iteration 3*",
            "*iteration[[]5[]]*RAN 5 FROM iteration 4*",
            "soakwatch::default::kpi_gate PASSED*",
        ]
    )


def test_a_rerun_iteration_that_succeeds_is_checked(soak: pytest.Pytester) -> None:
    pytest.importorskip("pytest_rerunfailures")
    from test_plugin import RUNNER

    soak.makeconftest(
        "VERDICTS = {}\nREASONS = {}\nBROKEN = {}\nCALLS = []\n"
        + RUNNER.replace(
            "    BROKEN.get(",
            "    CALLS.append(iteration.index)\n"
            "    if CALLS.count(2) == 1 and iteration.index == 2:\n"
            "        (d / 'EDGE_REPORT.json').unlink()  # broken the first time only\n"
            "    BROKEN.get(",
        )
    )
    soak.makepyfile("def test_net(soak_summary): assert soak_summary['net_bps'] == 3.0")
    result = soak.runpytest("--soak-iterations=3", "--reruns=1", "-v")
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 7, "rerun": 1}
    result.stdout.fnmatch_lines(
        [
            "| iter_watch | ERROR | iter=2 *EDGE_REPORT.json*",  # the failed attempt
            "| iter_watch | SUMMARY | iter=2 net=3.0 *",  # the rerun, without its error
            "*test_net[[]default-iter2[]] PASSED*",
            "| kpi_gate | verdict=PASS | reasons=[[][]] |",
        ]
    )
    assert [e["iteration"] for e in read_json(soak.path / OUT / "TUNING_REPORT.json")] == [1, 2, 3]


def test_a_summary_that_cannot_be_written_is_that_iterations_error(soak: pytest.Pytester) -> None:
    from test_plugin import RUNNER

    soak.makeconftest(
        "VERDICTS = {}\nREASONS = {}\n"
        "BROKEN = {2: lambda d: (d.parent.parent / 'ITER_SUMMARY_2.json').mkdir()}\n" + RUNNER
    )
    soak.makepyfile("def test_net(soak_summary): pass")
    result = soak.runpytest("--soak-iterations=3", "-rs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    result.assert_outcomes(passed=5, errors=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*ITER_SUMMARY_2.json: cannot write (*",
            "SKIPPED*soak 'default' iteration 2 broke",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_kpi_warnings_are_filtered_by_the_soak_as_module(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    result.stdout.fnmatch_lines(["*<soakwatch::default>:0: SoakKpiWarning: KPI verdict WARN*"])
    soak.makeini("[pytest]\nfilterwarnings = ignore:::soakwatch\n")
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == 0
    result.assert_outcomes(passed=3, warnings=0)


# --- the project's hooks, when they fail -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('raise KeyError("host")', "raised KeyError: 'host'"),
        (
            'entry["finished"] = datetime.datetime(2025, 1, 1)',
            "left a value JSON cannot hold: Object of type datetime is not JSON serializable",
        ),
        ('entry["x"] = float("nan")', "left a value JSON cannot hold: Out of range float*"),
        ('entry["iteration"] = "2"', "changed 'iteration'"),
        ('entry["kpi_verdict"] = "PASS"', "changed 'kpi_verdict'"),
        ('entry["kpi_reasons"] = ["EDGE:slippage", "waived"]', "changed 'kpi_reasons'"),
        ('entry["note"] = "\\ud800"', "left a value JSON cannot hold: *surrogate*"),
        ('pytest.fail("not now")', "raised Failed: not now"),
        ('raise RuntimeError("rejected\\nstatus=503")', "raised RuntimeError: rejected"),
    ],
)
def test_a_failing_report_entry_hook_fails_the_run_and_the_soak_goes_on(
    soak: pytest.Pytester, body: str, problem: str
) -> None:
    soak.makeconftest(
        "import datetime\nimport pytest\n\n"
        "def pytest_soak_report_entry(soak, entry):\n"
        "    entry['team'] = 'mm'\n"
        "    if entry['iteration'] == 2:\n"
        f"        {body}\n"
    )
    result = soak.runpytest("--soak-iterations=3", *MOCK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    assert result.parseoutcomes()["passed"] == 4
    result.stdout.fnmatch_lines(
        [
            "| iter_watch | SUMMARY | iter=2 *",
            "| iter_watch | WARNING | iter=2 pytest_soak_report_entry "
            f"{problem}; recorded as it was |",
            "| iter_watch | SUMMARY | iter=3 *",
            f"soakwatch: default iteration 2: pytest_soak_report_entry {problem}",
        ]
    )
    entries = read_json(soak.path / OUT / "TUNING_REPORT.json")
    assert [(e["iteration"], e.get("team")) for e in entries] == [(1, "mm"), (2, None), (3, "mm")]
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8")
    assert "| iter_watch | WARNING | iter=2 pytest_soak_report_entry " in log


def test_a_report_entry_hook_owns_the_rest_of_the_record(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        def pytest_soak_report_entry(soak, entry):
            del entry["net_bps"]
            entry["applied"] = 10**400
            entry["suggested_deltas"] = {"tail_age_ms": "later"}
        """
    )
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == 0
    no_internal_error(result)
    result.stdout.fnmatch_lines(["default         2     5.06 WARN  no      slippage_bps / *"])
    second = read_json(soak.path / OUT / "TUNING_REPORT.json")[1]
    assert "net_bps" not in second
    assert (second["applied"], second["suggested_deltas"]) == (10**400, {"tail_age_ms": "later"})


def test_an_observer_that_changes_the_summary_does_not_change_the_verdict(
    soak: pytest.Pytester,
) -> None:
    soak.makeconftest(
        """
        def pytest_soak_iteration_done(iteration, summary, tuning):
            summary["kpi_verdict"] = "FAIL"
        """
    )
    result = soak.runpytest("--soak-iterations=1", *MOCK)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*SoakKpiWarning: KPI verdict WARN: EDGE:slippage"])


def test_an_observer_that_raises_breaks_its_iteration(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        def pytest_soak_iteration_done(iteration, summary, tuning):
            if iteration.index == 2:
                raise RuntimeError("dashboard down")
        """
    )
    result = soak.runpytest("--soak-iterations=3", *MOCK, "--soak-auto-tune")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    result.stdout.fnmatch_lines(
        [
            "| iter_watch | ERROR | iter=2 pytest_soak_iteration_done raised RuntimeError: "
            "dashboard down |",
            "pytest_soak_iteration_done raised:",  # the project's frames only
            '*conftest.py", line 3, in pytest_soak_iteration_done',
            '    raise RuntimeError("dashboard down")',
            "RuntimeError: dashboard down",
        ]
    )
    out = soak.path / OUT
    assert not (out / "ITER_SUMMARY_2.json").exists()
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 3]
    third = read_json(out / "ITER_SUMMARY_3.json")
    assert third["overrides_source"] == "iteration 2 (unchanged: it broke)"
    assert third["overrides"] == read_json(out / "ITER_SUMMARY_1.json")["next_overrides"]


RERUN_CONFTEST = """
from pytest_soakwatch.simulator import simulate_iteration

CALLS = []

def pytest_soak_run_iteration(iteration):
    CALLS.append(iteration.index)
    if iteration.index == {always_broken}:
        raise RuntimeError("down")
    simulate_iteration(iteration.artifacts_dir, iteration.overrides, iteration=iteration.index)
    if iteration.index == 3 and CALLS.count(3) == 1:  # broken the first time only
        (iteration.artifacts_dir / "EDGE_REPORT.json").unlink()
    return True
"""


@pytest.mark.parametrize(
    ("always_broken", "source"), [(2, "iteration 2 (unchanged: it broke)"), (0, "iteration 2")]
)
def test_a_rerun_starts_from_the_same_overrides(
    soak: pytest.Pytester, always_broken: int, source: str
) -> None:
    pytest.importorskip("pytest_rerunfailures")
    soak.makeconftest(RERUN_CONFTEST.format(always_broken=always_broken))
    result = soak.runpytest("--soak-iterations=3", "--soak-auto-tune", "--reruns=1")
    assert result.parseoutcomes()["rerun"] == 1 + bool(always_broken)
    out = soak.path / OUT
    before = "ITER_SUMMARY_1.json" if always_broken else "ITER_SUMMARY_2.json"
    third = read_json(out / "ITER_SUMMARY_3.json")
    assert third["overrides_source"] == source
    assert third["overrides"] == read_json(out / before)["next_overrides"]


def test_a_check_alone_on_a_damaged_record_says_so_in_one_line(soak: pytest.Pytester) -> None:
    soak.makepyfile(test_checks="def test_net(soak_summary): pass")
    assert soak.runpytest("--soak-iterations=3", *MOCK).ret == 0
    (soak.path / OUT / "ITER_SUMMARY_2.json").write_text("{", encoding="utf-8")
    result = soak.runpytest("--soak-iterations=3", *MOCK, "test_checks.py::test_net[default-iter2]")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_internal_error(result)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ITER_SUMMARY_2.json: invalid JSON at line 1 column 2: *"])
    assert "pytest_soakwatch" not in result.stdout.str()  # none of our frames
    assert "During handling" not in result.stdout.str()  # no exception chain


#: A runner of the simulator that a test steers from the environment: ``STOP_AT=K`` stops at
#: iteration K as Ctrl-C would, ``BREAK=K,L`` cuts those iterations' EDGE_REPORT.json short;
#: every call is noted in calls.txt.
SIMULATING_RUNNER = """
import os
from pathlib import Path
from pytest_soakwatch.simulator import simulate_iteration

def pytest_soak_run_iteration(iteration):
    with Path(__file__).with_name("calls.txt").open("a") as calls:
        calls.write(f"{iteration.index}\\n")
    if os.environ.get("STOP_AT") == str(iteration.index):
        raise KeyboardInterrupt
    d = iteration.artifacts_dir
    simulate_iteration(d, iteration.overrides, iteration=iteration.index)
    if str(iteration.index) in os.environ.get("BREAK", "").split(","):
        (d / "EDGE_REPORT.json").write_text("{")  # KPI_GATE.json stays
    return True
"""


@pytest.mark.parametrize("option", ["--setup-plan", "--setup-only"])
def test_setup_plan_and_setup_only_run_no_iteration(soak: pytest.Pytester, option: str) -> None:
    soak.makeconftest(SIMULATING_RUNNER)
    assert soak.runpytest("--soak-iterations=2").ret == 0
    out = soak.path / OUT
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    result = soak.runpytest("--soak-iterations=2", option)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*soakwatch::default::iteration[[]2[]]", "*no tests ran*"])
    assert (soak.path / "calls.txt").read_text().split() == ["1", "2"]  # the first run's
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_a_fresh_soak_stopped_in_iteration_1_leaves_no_stale_record(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makeconftest(SIMULATING_RUNNER)
    assert soak.runpytest("--soak-iterations=3").ret == 0
    monkeypatch.setenv("STOP_AT", "1")
    stopped = soak.runpytest_subprocess("--soak-iterations=3")  # as Ctrl-C would
    assert stopped.ret == pytest.ExitCode.INTERRUPTED
    out = soak.path / OUT
    assert sorted(path.name for path in out.iterdir()) == ["artifacts", "iterations"]
    result = soak.runpytest("--soak-iterations=3", "soakwatch::default::kpi_gate", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * soak 'default' has no iteration to judge"])


def test_a_check_reading_a_damaged_artifact_fails_with_its_own_frames(
    soak: pytest.Pytester,
) -> None:
    soak.makepyfile(
        test_edge="""
        def test_edge(soak_artifacts):
            assert soak_artifacts.edge_report["totals"]
        """
    )
    assert soak.runpytest("--soak-iterations=1", *MOCK).ret == 0
    edge = soak.path / OUT / "iterations" / "1" / "EDGE_REPORT.json"
    edge.write_text('{"totals": {"a": NaN}}')
    result = soak.runpytest("--soak-iterations=1", *MOCK, "test_edge.py::test_edge[default-iter1]")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "    def test_edge(soak_artifacts):",
            '>       assert soak_artifacts.edge_report["totals"]',
            "*SoakwatchError: *EDGE_REPORT.json: totals.a: NaN is not a number JSON allows",
        ]
    )
    ours = re.compile(r"pytest_soakwatch[/\\\\]\w+\.py:\d+")  # a frame of the plugin's
    assert [line for line in result.outlines if ours.search(line)] == []
    assert [line for line in result.outlines if line.startswith(">")] == [
        '>       assert soak_artifacts.edge_report["totals"]'
    ]


def test_artifacts_that_cannot_be_replaced_break_in_one_line(soak: pytest.Pytester) -> None:
    in_the_way = soak.path / OUT / "artifacts" / "EDGE_REPORT.json"
    (in_the_way / "mine").mkdir(parents=True)  # say, a file held open on Windows
    result = soak.runpytest("--soak-iterations=2", *MOCK, "-q")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # the session's end tries again to show the last iteration, and says so on a line of its own
    last = f"soakwatch: {in_the_way.parent}: cannot show iteration 2 there (*)"
    result.stdout.fnmatch_lines(["F*[[]100%[]]", last])
    result.stdout.fnmatch_lines(
        [
            "ERROR soakwatch::default::iteration[[]1[]] - Failed: *EDGE_REPORT.json: cannot "
            "remove what the last run left (*)",
            "ERROR soakwatch::default::iteration[[]2[]] - Failed: *artifacts: cannot show "
            "iteration 2 there (*)",
        ]
    )
    no_internal_error(result)
    assert "Traceback" not in result.stdout.str()


def test_a_damaged_report_cannot_forge_a_marker(soak: pytest.Pytester) -> None:
    assert soak.runpytest("--soak-iterations=2", *MOCK).ret == 0
    report = soak.path / OUT / "TUNING_REPORT.json"
    report.write_text(
        '[\n{"iteration": 1, "x\\n| kpi_gate | verdict=PASS | reasons=[] |": NaN}\n]\n'
    )
    soak.runpytest("--soak-iterations=2", *MOCK, "soakwatch::default::iteration[1]")
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8").splitlines()
    assert [line for line in log if line.startswith("| kpi_gate |")] == [
        "| kpi_gate | verdict=WARN | reasons=[EDGE:slippage] |",  # the first run's
        "| kpi_gate | verdict=NONE | reasons=[] |",  # this one's: iteration 2 is not recorded now
    ]
    assert [line for line in log if "moved to TUNING_REPORT.json.damaged" in line] == [
        "| iter_watch | WARNING | "
        f"{report}: [0].x\\n| kpi_gate | verdict=PASS | reasons=[] |: NaN is not a number JSON "
        "allows; moved to TUNING_REPORT.json.damaged |"
    ]


def test_an_earlier_broken_last_iteration_shows_no_verdict(soak: pytest.Pytester) -> None:
    soak.makeconftest(SIMULATING_RUNNER)
    os.environ["BREAK"] = "2"
    try:
        assert soak.runpytest("--soak-iterations=2").ret == pytest.ExitCode.TESTS_FAILED
    finally:
        del os.environ["BREAK"]
    verdict = soak.path / OUT / "artifacts" / "KPI_GATE.json"
    assert not verdict.exists()
    assert soak.runpytest("--soak-iterations=2", "soakwatch::default::iteration[1]").ret == 0
    assert (soak.path / OUT / "iterations" / "2" / "KPI_GATE.json").is_file()
    assert not verdict.exists()  # the last iteration on disk is 2, which broke


def test_a_full_disk_under_the_simulator_breaks_the_iteration_in_one_line(
    soak: pytest.Pytester,
) -> None:
    full_disk = "def replacement(path, data):\n    raise OSError(28, 'No space left on device')\n"
    soak.makeconftest(patched("simulator", "write_bytes", full_disk))
    result = soak.runpytest("--soak-iterations=1", *MOCK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "| iter_watch | ERROR | iter=1 *iterations?1: the simulator cannot write "
            "(No space left on device) |"
        ]
    )
    assert "pytest_soak_run_iteration raised" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_an_iteration_after_a_broken_one_starts_from_the_last_record_on_disk(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a new pytest-xdist worker does after a crash, and a later run of one iteration."""
    soak.makeconftest(SIMULATING_RUNNER)
    monkeypatch.setenv("BREAK", "2,3")
    assert soak.runpytest("--soak-iterations=4", "--soak-auto-tune").ret == 1
    out = soak.path / OUT
    whole_run = read_json(out / "ITER_SUMMARY_4.json")
    assert whole_run["overrides_source"] == "iteration 3 (unchanged: it broke)"
    monkeypatch.delenv("BREAK")
    result = soak.runpytest(
        "--soak-iterations=4", "--soak-auto-tune", "soakwatch::default::iteration[4]"
    )
    assert result.ret == 0
    alone = read_json(out / "ITER_SUMMARY_4.json")
    assert (
        alone["overrides"]
        == whole_run["overrides"]
        == read_json(out / "ITER_SUMMARY_1.json")["next_overrides"]
    )
    assert alone["overrides_source"] == "ITER_SUMMARY_1.json on disk (iterations 2-3: no record)"


@pytest.mark.parametrize(
    ("call", "summary"),
    [
        ("sys.exit(2)", "SystemExit: 2"),
        ('pytest.fail("the bot failed")', "Failed: the bot failed"),
        ('pytest.skip("not today")', "Skipped: not today"),
    ],
)
@pytest.mark.parametrize("hook", ["pytest_soak_run_iteration", "pytest_soak_iteration_done"])
def test_a_hook_ending_the_iteration_another_way_breaks_it_in_one_line(
    soak: pytest.Pytester, hook: str, call: str, summary: str
) -> None:
    runs = hook == "pytest_soak_run_iteration"  # else it observes the simulator's iterations
    soak.makeconftest(
        "import sys, pytest\nfrom pytest_soakwatch.simulator import simulate_iteration\n\n"
        f"def {hook}(iteration, **kwargs):\n"
        f"    if iteration.index == 1:\n        {call}\n"
        + (
            "    simulate_iteration(iteration.artifacts_dir, {}, iteration=iteration.index)\n"
            "    return True\n"
            if runs
            else ""
        )
    )
    result = soak.runpytest("--soak-iterations=2", *([] if runs else MOCK))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1, passed=2, warnings=2)
    who = "the runner" if hook == "pytest_soak_run_iteration" else hook
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8")
    assert f"| iter_watch | ERROR | iter=1 {who} raised {summary} |" in log
    assert len(result.outlines) < 60


def test_pytest_exit_in_a_runner_stops_the_run(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        "import pytest\n\ndef pytest_soak_run_iteration(iteration):\n"
        '    pytest.exit("stop here", returncode=7)\n'
    )
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == 7


def test_an_async_runner_is_named(soak: pytest.Pytester) -> None:
    soak.makeconftest("async def pytest_soak_run_iteration(iteration):\n    return True\n")
    result = soak.runpytest("--soak-iterations=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "ERROR soakwatch::default::iteration[[]1[]] - Failed: pytest_soak_run_iteration "
            "returned a coroutine: the hook must run the iteration itself*"
        ]
    )
    assert "never awaited" not in result.stdout.str() + result.stderr.str()


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need a privilege there")
def test_artifacts_written_as_relative_links_are_shown_as_files(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        import os
        from pathlib import Path
        from pytest_soakwatch.simulator import simulate_iteration

        def pytest_soak_run_iteration(iteration):
            d = iteration.artifacts_dir
            simulate_iteration(d / "run", iteration.overrides, iteration=iteration.index)
            for name in os.listdir(d / "run"):
                (d / name).symlink_to(os.path.join("run", name))
            once = Path(__file__).with_name("linked")
            if not once.exists():  # and a directory left as a link to another place
                once.touch()
                (d.parent / "9").symlink_to(d / "run")
            return True
        """
    )
    assert soak.runpytest("--soak-iterations=2").ret == 0
    shown = soak.path / OUT / "artifacts" / "KPI_GATE.json"
    assert read_json(shown)["verdict"] == "WARN"
    assert not shown.is_symlink()
    assert soak.runpytest("--soak-iterations=2").ret == 0  # the link in iterations/ is removed
    assert not (soak.path / OUT / "iterations" / "9").exists()


def test_a_soak_name_too_long_for_a_file_system_is_a_usage_error(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-name=" + "a" * 101)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --soak-name: soak name 'aaa*' is longer than 100 *"])


def test_a_nul_in_a_path_setting_is_a_usage_error(soak: pytest.Pytester) -> None:
    soak.makeini("[pytest]\nsoak_overrides = x\0y\n")  # a command line cannot carry a NUL
    result = soak.runpytest("--soak-iterations=1", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini soak_overrides: expected a path, got 'x\\x00y'"])


def test_listing_options_work_with_any_soak_setting(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOAKWATCH_ITERATIONS", "abc")
    assert soak.runpytest("--help").ret == 0
    monkeypatch.setenv("SOAKWATCH_ITERATIONS", "2")  # and no runner
    result = soak.runpytest("--fixtures")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["soak_summary -- *"])
