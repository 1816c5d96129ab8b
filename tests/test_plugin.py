"""The plugin as users run it: real command lines through pytester."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import read_json

OUT = Path("artifacts/soak/latest")
MOCK = ("--soak-mock",)

#: A conftest runner that writes a fixed, valid iteration (PASS unless told otherwise).
RUNNER = """
import json

EDGE = {"totals": {"net_bps": 3.0, "slippage_bps": 1.0, "adverse_bps": 1.0,
                   "neg_edge_drivers": []}, "runtime": {"utc": "2025-10-13T12:00:00Z"}}

def verdict_for(iteration):
    return VERDICTS.get(iteration.index, "PASS")

def pytest_soak_run_iteration(iteration):
    d = iteration.artifacts_dir
    (d / "EDGE_REPORT.json").write_text(json.dumps(EDGE))
    (d / "KPI_GATE.json").write_text(json.dumps(
        {"verdict": verdict_for(iteration), "reasons": REASONS.get(iteration.index, [])}))
    BROKEN.get(iteration.index, lambda d: None)(d)
    return True
"""


def runner_conftest(
    verdicts: str = "{}", reasons: str = "{}", broken: dict[int, str] | None = None
) -> str:
    """RUNNER with verdicts, reasons and artifact breakers (code as text) per iteration."""
    breakers = ", ".join(f"{index}: {code}" for index, code in (broken or {}).items())
    return f"VERDICTS = {verdicts}\nREASONS = {reasons}\nBROKEN = {{{breakers}}}\n" + RUNNER


def lit(text: str) -> str:
    """``text`` as an fnmatch pattern that matches it literally (``*`` stays a wildcard)."""
    return text.replace("[", "[[]").replace("?", "[?]")


def markers(result: pytest.RunResult, kind: str) -> list[str]:
    return [line for line in result.outlines if line.startswith(f"| iter_watch | {kind} |")]


# --- installed but off -------------------------------------------------------------------


def test_installed_but_not_asked_for_adds_nothing(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_ok(): pass")
    result = soak.runpytest()
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    assert not (soak.path / "artifacts").exists()
    assert not [line for line in result.outlines if "iter_watch" in line or "kpi_gate" in line]


def test_disabled_with_p_no(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_ok(): pass")
    result = soak.runpytest("-p", "no:soakwatch", "--soak-iterations=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --soak-iterations=2*"])


def test_fixture_tests_skip_without_a_soak(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_net(soak_summary): assert soak_summary")
    result = soak.runpytest("-rs")
    assert result.ret == 0
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a soak: run pytest with --soak-iterations=N*"])


# --- the seed's acceptance -------------------------------------------------------------------


def test_seed_acceptance_auto_tune_ends_pass(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=6", *MOCK, "--soak-auto-tune")
    assert result.ret == 0
    result.assert_outcomes(passed=7, warnings=2)
    out = soak.path / OUT
    assert sorted(p.name for p in out.glob("ITER_SUMMARY_*.json")) == [
        f"ITER_SUMMARY_{i}.json" for i in range(1, 7)
    ]
    report = read_json(out / "TUNING_REPORT.json")
    assert [entry["iteration"] for entry in report] == [1, 2, 3, 4, 5, 6]
    assert report[0]["applied"] is True
    assert report[0]["suggested_deltas"] == {"base_spread_bps_delta": 0.02, "tail_age_ms": 30}
    assert len(markers(result, "SUMMARY")) == 6
    assert result.outlines[-2] == "| kpi_gate | verdict=PASS | reasons=[] |"
    assert read_json(out / "artifacts" / "KPI_GATE.json")["verdict"] == "PASS"
    second = read_json(out / "ITER_SUMMARY_2.json")
    assert second["overrides"]["base_spread_bps_delta"] == 0.16
    assert second["overrides"]["tail_age_ms"] == 650
    log = (out / "soakwatch.log").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("| iter_watch | SUMMARY |") for line in log) == 6
    assert log[-1] == "| kpi_gate | verdict=PASS | reasons=[] |"


def test_without_auto_tune_the_advice_is_recorded_not_applied(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=3", *MOCK)
    assert result.ret == 0
    result.assert_outcomes(passed=4, warnings=4)
    result.stdout.fnmatch_lines(
        [
            lit("| iter_watch | SUMMARY | iter=1 net=* drivers=['slippage_bps'] kpi=WARN |"),
            '| iter_watch | SUGGEST | {"base_spread_bps_delta": 0.02, "tail_age_ms": 30} |',
            "| iter_watch | RATIONALE | slippage_bps=* (driver) → widen spread +0.02, tail +30ms |",
            "*SoakKpiWarning: KPI verdict WARN: EDGE:slippage",
            lit("| kpi_gate | verdict=WARN | reasons=[EDGE:slippage] |"),
        ]
    )
    out = soak.path / OUT
    records = [read_json(out / f"ITER_SUMMARY_{i}.json") for i in (1, 2, 3)]
    assert all(r["overrides"] == records[0]["overrides"] for r in records)
    assert all(not r["tuning"]["applied"] for r in records)


@pytest.mark.parametrize("verbosity", ["-q", "-rN", "-v"])
def test_each_marker_starts_a_line_of_its_own(soak: pytest.Pytester, verbosity: str) -> None:
    """``grep '^| iter_watch'`` finds every marker, also after ``-q``'s progress dots."""
    result = soak.runpytest("--soak-iterations=3", *MOCK, verbosity)
    assert result.ret == 0
    assert len(markers(result, "SUMMARY")) == 3
    assert len(markers(result, "SUGGEST")) == 3
    assert not [line for line in result.outlines if "| iter_watch |" in line[1:]]


def test_markers_on_a_console_that_cannot_show_the_arrow(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cp1252 console (Windows CI): '→' is escaped, and each marker keeps its own line."""
    monkeypatch.setenv("PYTHONIOENCODING", "cp1252")
    result = soak.runpytest_subprocess("--soak-iterations=2", *MOCK, "-q")
    assert result.ret == 0
    assert len(markers(result, "SUMMARY")) == 2
    rationale = markers(result, "RATIONALE")
    assert len(rationale) == 2
    assert all("(driver) \\u2192 widen spread" in line for line in rationale)


def test_the_log_has_every_marker_without_a_terminal(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2", *MOCK, "-p", "no:terminal")
    assert result.ret == 0
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("| iter_watch | SUMMARY |") for line in log) == 2
    assert log[-1] == "| kpi_gate | verdict=WARN | reasons=[EDGE:slippage] |"


def test_markers_show_live_under_output_capture(soak: pytest.Pytester) -> None:
    result = soak.runpytest_subprocess("--soak-iterations=1", *MOCK, "--capture=fd")
    assert result.ret == 0
    assert len(markers(result, "SUMMARY")) == 1


# --- the gate ----------------------------------------------------------------------------


def test_final_fail_fails_the_gate_with_reasons(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{2: 'FAIL'}", "{2: ['EDGE:net_bps', 'EDGE:order_age']}"))
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            lit("| kpi_gate | verdict=FAIL | reasons=[EDGE:net_bps, EDGE:order_age] |"),
            "FAILED soakwatch::default::kpi_gate - Failed: KPI verdict FAIL after iteration 2: "
            "EDGE:net_bps, EDGE:order_age",
        ]
    )


def test_earlier_fail_is_reported_but_not_failed_under_final(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{1: 'FAIL'}"))
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == 0
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*KPI verdict FAIL: no reasons given (judged by the final gate)"])


def test_gate_any_fails_the_failing_iteration_and_the_gate(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{1: 'FAIL'}", "{1: ['EDGE:adverse']}"))
    result = soak.runpytest("--soak-iterations=2", "--soak-gate=any")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "FAILED soakwatch::default::iteration[[]1[]] - Failed: KPI verdict FAIL in "
            "iteration 1: EDGE:adverse",
            "FAILED soakwatch::default::kpi_gate - Failed: KPI verdict FAIL in iteration(s) 1",
        ]
    )


def test_backstop_fails_the_run_when_the_gate_is_deselected(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{1: 'FAIL'}"))
    result = soak.runpytest("--soak-iterations=1", "-k", "not kpi_gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, deselected=1, warnings=1)
    result.stdout.fnmatch_lines(["soakwatch: KPI gate failed: default: KPI verdict FAIL*"])


def test_mock_spike_scenario_ends_fail(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=6", *MOCK, "--soak-mock-scenario=spike")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([lit("| kpi_gate | verdict=FAIL | reasons=[*] |")])
    assert read_json(soak.path / OUT / "artifacts" / "KPI_GATE.json")["verdict"] == "FAIL"


# --- broken artifacts --------------------------------------------------------------------

BREAKERS = {
    "nan": "lambda d: (d / 'EDGE_REPORT.json').write_text('{\"totals\": {\"net_bps\": NaN}}')",
    "missing": "lambda d: (d / 'EDGE_REPORT.json').unlink()",
    "verdict": "lambda d: (d / 'KPI_GATE.json').write_text('{\"verdict\": \"MAYBE\"}')",
    "audit": "lambda d: (d / 'audit.jsonl').write_text('{\"a\": 1}\\n{oops\\n{\"b\": 2}\\n')",
}


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        ("nan", "*EDGE_REPORT.json: totals.net_bps: NaN is not a number JSON allows"),
        ("missing", "*EDGE_REPORT.json: file not found"),
        ("verdict", "*KPI_GATE.json: verdict must be one of PASS, WARN, FAIL, got 'MAYBE'"),
        ("audit", "*audit.jsonl: line 2: invalid JSON*"),
    ],
)
def test_broken_iteration_errors_in_one_line_and_the_soak_goes_on(
    soak: pytest.Pytester, breaker: str, message: str
) -> None:
    soak.makeconftest(runner_conftest(broken={2: BREAKERS[breaker]}))
    result = soak.runpytest("--soak-iterations=3", "--soak-auto-tune")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([f"ERROR soakwatch::default::iteration[[]2[]] - Failed: {message}"])
    assert "Traceback" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()
    out = soak.path / OUT
    assert (out / "ITER_SUMMARY_1.json").is_file()
    assert not (out / "ITER_SUMMARY_2.json").exists()
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 3]
    assert read_json(out / "ITER_SUMMARY_3.json")["overrides_source"].startswith("iteration 2")
    assert len(markers(result, "ERROR")) == 1


@pytest.mark.parametrize(
    "selection", [[], ["soakwatch::default::iteration[1]"]], ids=["all", "one"]
)
def test_a_verdict_computed_from_the_thresholds_is_shown_in_artifacts(
    soak: pytest.Pytester, selection: list[str]
) -> None:
    no_gate_file = "lambda d: (d / 'KPI_GATE.json').unlink()"
    soak.makeconftest(runner_conftest(broken={1: no_gate_file, 2: no_gate_file}))
    result = soak.runpytest("--soak-iterations=2", *selection)
    assert result.ret == 0
    out = soak.path / OUT
    last = 2 if not selection else 1
    summary = read_json(out / f"ITER_SUMMARY_{last}.json")["summary"]
    assert summary["kpi_source"] == "computed"
    assert read_json(out / "artifacts" / "KPI_GATE.json") == {
        "reasons": summary["kpi_reasons"],
        "source": "computed by pytest-soakwatch from the KPI thresholds",
        "verdict": summary["kpi_verdict"],
    }
    assert not (out / "iterations" / str(last) / "KPI_GATE.json").exists()  # the runner's own


def test_broken_final_iteration_never_passes_the_gate(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest(broken={2: BREAKERS["missing"]}))
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            lit("| kpi_gate | verdict=NONE | reasons=[] |"),
            "FAILED soakwatch::default::kpi_gate - Failed: iteration 2 produced no KPI verdict",
        ]
    )
    assert not (soak.path / OUT / "artifacts" / "KPI_GATE.json").exists()


def raising_runner(message: str) -> str:
    """A conftest whose runner hook raises ``RuntimeError(message)`` (``message`` as code)."""
    return f"def pytest_soak_run_iteration(iteration):\n    raise RuntimeError({message})\n"


def test_runner_that_raises_errors_the_iteration(soak: pytest.Pytester) -> None:
    soak.makeconftest(raising_runner('"the bot did not start"'))
    result = soak.runpytest("--soak-iterations=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of soakwatch::default::iteration[[]1[]]*",
            "pytest_soak_run_iteration raised:",
            '  File "*conftest.py", line 2, in pytest_soak_run_iteration',
            '    raise RuntimeError("the bot did not start")',
            "RuntimeError: the bot did not start",
        ]
    )
    # the user's frames only: nothing of pytest, pluggy or the plugin (either separator)
    frames = [line.replace("\\", "/") for line in result.outlines if "File " in line]
    assert [line for line in frames if "pluggy/" in line or "_pytest/" in line] == []
    assert [line for line in frames if "pytest_soakwatch/" in line] == []
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8")
    assert (
        "| iter_watch | ERROR | iter=1 the runner raised RuntimeError: the bot did not start |"
        in log
    )


def test_a_runner_message_cannot_forge_a_marker(soak: pytest.Pytester) -> None:
    soak.makeconftest(raising_runner('"boom\\n| kpi_gate | verdict=PASS | reasons=[] |"'))
    result = soak.runpytest("--soak-iterations=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    log = (soak.path / OUT / "soakwatch.log").read_text(encoding="utf-8").splitlines()
    assert [line for line in log if line.startswith("| kpi_gate |")] == [
        "| kpi_gate | verdict=NONE | reasons=[] |"
    ]
    assert log[0] == (
        "| iter_watch | ERROR | iter=1 the runner raised RuntimeError: "
        "boom\\n| kpi_gate | verdict=PASS | reasons=[] | |"
    )


def test_kpi_warning_as_error_fails_the_iteration_in_one_line(soak: pytest.Pytester) -> None:
    result = soak.runpytest(
        "--soak-iterations=1", *MOCK, "-W", "error::pytest_soakwatch.SoakKpiWarning"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["SoakKpiWarning: KPI verdict WARN: EDGE:slippage", "FAILED soakwatch::default::iteration*"]
    )
    assert len(result.outlines) < 40


# --- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--soak-iterations=0"],
            "*--soak-iterations: expected a whole number >= 1 and <= 100,000, got '0'",
        ),
        (["--soak-iterations=many"], "*--soak-iterations: expected a whole number >= 1*"),
        (["--soak-iterations=100001"], "*--soak-iterations: expected * <= 100,000, got '100001'"),
        (["--soak-iterations=" + "9" * 30], "*--soak-iterations: expected a whole number >= 1*"),
        (["--soak-iterations=1_000"], "*--soak-iterations: expected * got '1_000'"),
        (["--soak-iterations=\uff11"], "*--soak-iterations: expected * got '\uff11'"),
        (["--soak-iterations=1", "--soak-gate=maybe"], "*--soak-gate: expected one of final, any*"),
        (
            ["--soak-iterations=1", "--soak-mock-scenario=storm"],
            "*--soak-mock-scenario: expected one of calm, spike, volatile, got 'storm'",
        ),
        (
            ["--soak-iterations=1", "--soak-seed=x"],
            "*--soak-seed: expected a whole number, got 'x'",
        ),
    ],
)
def test_bad_option_is_a_usage_error(soak: pytest.Pytester, args: list[str], message: str) -> None:
    result = soak.runpytest(*args, *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert not (soak.path / "artifacts").exists()


def test_bad_environment_value_names_the_variable(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOAKWATCH_ITERATIONS", "-3")
    result = soak.runpytest(*MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: SOAKWATCH_ITERATIONS: expected a whole number >= 1*"])


def test_bad_ini_value_names_the_key(soak: pytest.Pytester) -> None:
    soak.makeini("[pytest]\nsoak_iterations = 2\nsoak_auto_tune = perhaps\n")
    result = soak.runpytest(*MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ini soak_auto_tune: expected true or false (1/0, yes/no, on/off), got 'perhaps'"]
    )


def test_bounds_add_a_parameter_of_the_projects_own(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makeini("[pytest]\nsoak_bounds = order_ttl_ms = 100 900\n")
    monkeypatch.setenv("MM_RUNTIME_OVERRIDES_JSON", '{"order_ttl_ms": 300}')
    assert soak.runpytest("--soak-iterations=2", *MOCK, "--soak-auto-tune").ret == 0
    second = read_json(soak.path / OUT / "ITER_SUMMARY_2.json")
    assert second["overrides"]["order_ttl_ms"] == second["next_overrides"]["order_ttl_ms"] == 300
    monkeypatch.setenv("MM_RUNTIME_OVERRIDES_JSON", '{"order_ttl_ms": 1000}')
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*MM_RUNTIME_OVERRIDES_JSON*order_ttl_ms*1000*"])


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("soak_tuning = spread_stepp = 0.03", "*ini soak_tuning: unknown setting 'spread_stepp'*"),
        ("soak_bounds = tail_age_ms = 900 500", "*ini soak_bounds tail_age_ms: min 900 is above*"),
        (
            "soak_bounds = tail_age = 550 700",
            "ini soak_bounds: unknown parameter 'tail_age', close to 'tail_age_ms' (a parameter *",
        ),
        ("soak_kpi_thresholds = net_bps = 1", "*ini soak_kpi_thresholds: expected 'name = *"),
        (
            "soak_kpi_thresholds = ws_lag_p95_ms = 200 100",
            "ini soak_kpi_thresholds ws_lag_p95_ms: warn 200 is above fail 100",
        ),
        (
            "soak_kpi_thresholds = net_bps = 2 3",
            "ini soak_kpi_thresholds net_bps: warn 2 is below fail 3",
        ),
        (
            "soak_tuning =\n    spread_step = 0.03\n    spread_step = 0.04",
            "ini soak_tuning: 'spread_step' is given twice",
        ),
    ],
)
def test_bad_ini_table_is_a_usage_error(soak: pytest.Pytester, ini: str, message: str) -> None:
    soak.makeini(f"[pytest]\n{ini}\n")
    result = soak.runpytest("--soak-iterations=1", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'soak_bounds = ["tail_age_ms = 500 900", 5]',
            "ini soak_bounds: expected lines of text, *",
        ),
        ("soak_names = [1]", "ini soak_names: expected lines of text, got [[]1[]]"),
        ('soak_out = ["x"]', "ini soak_out: expected one value as text, got [[]'x'[]]"),
        (  # pytest 9 would warn of the array first, and the warning is an error here
            'filterwarnings = ["error"]\nsoak_gate = ["final"]',
            "ini soak_gate: expected one value as text, got [[]'final'[]]",
        ),
    ],
)
def test_a_toml_value_of_the_wrong_type_is_a_usage_error(
    soak: pytest.Pytester, toml: str, message: str
) -> None:
    soak.makefile(".toml", pyproject=f"[tool.pytest.ini_options]\n{toml}\n")
    # in a process of its own: pytest 9 also warns the user of the non-string value
    result = soak.runpytest_subprocess("--soak-iterations=1", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert not (soak.path / "['x']").exists()


def test_precedence_command_line_then_environment_then_ini(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.makeini("[pytest]\nsoak_iterations = 4\nsoak_mock = true\nsoak_out = from-ini\n")
    result = soak.runpytest()
    result.assert_outcomes(passed=5, warnings=5)
    assert (soak.path / "from-ini" / "ITER_SUMMARY_4.json").is_file()

    monkeypatch.setenv("SOAKWATCH_ITERATIONS", "3")
    monkeypatch.setenv("SOAKWATCH_OUT", "from-env")
    result = soak.runpytest()
    result.assert_outcomes(passed=4, warnings=4)
    assert (soak.path / "from-env" / "ITER_SUMMARY_3.json").is_file()

    result = soak.runpytest("--soak-iterations=1", "--soak-out=from-cli")
    result.assert_outcomes(passed=2, warnings=2)
    assert (soak.path / "from-cli" / "ITER_SUMMARY_1.json").is_file()


def test_ini_tuning_rules_and_bounds_apply(soak: pytest.Pytester) -> None:
    soak.makeini(
        "[pytest]\nsoak_tuning =\n    spread_step = 0.05\n"
        "soak_bounds =\n    base_spread_bps_delta = 0.08 0.18\n"
    )
    result = soak.runpytest("--soak-iterations=2", *MOCK, "--soak-auto-tune")
    assert result.ret == 0
    first = read_json(soak.path / OUT / "ITER_SUMMARY_1.json")
    assert first["tuning"]["deltas"]["base_spread_bps_delta"] == 0.05
    assert first["next_overrides"]["base_spread_bps_delta"] == 0.18
    assert first["tuning"]["clamped"] == ["base_spread_bps_delta"]


def test_ini_kpi_thresholds_change_the_computed_verdict(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        import json
        def pytest_soak_run_iteration(iteration):
            report = {"totals": {"net_bps": 3.0, "ws_lag_p95_ms": 150}}
            (iteration.artifacts_dir / "EDGE_REPORT.json").write_text(json.dumps(report))
            return True
        """
    )
    soak.makeini("[pytest]\nsoak_kpi_thresholds =\n    ws_lag_p95_ms = 100 140\n")
    result = soak.runpytest("--soak-iterations=1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([lit("| kpi_gate | verdict=FAIL | reasons=[EDGE:ws_lag] |")])
    assert read_json(soak.path / OUT / "ITER_SUMMARY_1.json")["summary"]["kpi_source"] == "computed"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"spread": 0.1}', "*MM_RUNTIME_OVERRIDES_JSON: unknown override 'spread'*"),
        ('{"tail_age_ms": true}', "*MM_RUNTIME_OVERRIDES_JSON: override 'tail_age_ms' must be*"),
        ('{"tail_age_ms": 900}', lit("*'tail_age_ms'=900 is outside its bounds [500, 800]")),
        (
            "{not json",
            "*MM_RUNTIME_OVERRIDES_JSON: invalid JSON at line 1 column 2: Expecting property name*",
        ),
    ],
)
def test_invalid_overrides_are_refused_before_any_iteration(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("MM_RUNTIME_OVERRIDES_JSON", value)
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: invalid overrides: {message}"])
    assert not (soak.path / "artifacts").exists()


def test_overrides_file_and_environment_feed_the_first_iteration(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak.path.joinpath("defaults.json").write_text('{"min_interval_ms": 50, "tail_age_ms": 700}')
    monkeypatch.setenv("MM_RUNTIME_OVERRIDES_JSON", '{"tail_age_ms": 720}')
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-overrides=defaults.json")
    assert result.ret == 0
    record = read_json(soak.path / OUT / "ITER_SUMMARY_1.json")
    assert record["overrides"] == {"min_interval_ms": 50, "tail_age_ms": 720}
    assert "MM_RUNTIME_OVERRIDES_JSON" in record["overrides_source"]


def test_broken_overrides_file_is_a_usage_error(soak: pytest.Pytester) -> None:
    soak.path.joinpath("defaults.json").write_text('{"min_interval_ms": 50,')
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--soak-overrides=defaults.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid overrides: *defaults.json: invalid JSON*"])


def test_no_runner_is_a_usage_error_saying_how(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: soakwatch: --soak-iterations needs something to run*"])


# --- the runner hook and fixtures --------------------------------------------------------


def test_runner_hook_gets_the_iteration(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        RUNNER.replace(
            "def pytest_soak_run_iteration(iteration):",
            "SEEN = []\ndef pytest_soak_run_iteration(iteration):\n"
            "    SEEN.append((iteration.soak, iteration.index, iteration.total,"
            " dict(iteration.overrides), iteration.artifacts_dir.name))\n"
            "    try:\n        iteration.overrides['tail_age_ms'] = 1\n"
            "    except TypeError:\n        SEEN.append('read-only')",
        ).replace("VERDICTS.get(iteration.index, 'PASS')", "'PASS'")
        + "\nVERDICTS = {}\nREASONS = {}\nBROKEN = {}\n"
        + "def pytest_sessionfinish():\n    print('SEEN', SEEN)\n"
    )
    result = soak.runpytest("--soak-iterations=2", "-s")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*SEEN [[]('default', 1, 2, {*'tail_age_ms': 620}, '1'), 'read-only'*"]
    )


def test_user_tests_run_after_each_iteration_in_order(soak: pytest.Pytester) -> None:
    soak.makepyfile(
        """
        def test_net(soak_summary, soak_iteration):
            assert soak_summary["net_bps"] > 0

        def test_overrides(soak_overrides, soak_tuning, soak_artifacts):
            assert soak_artifacts.kpi_gate["verdict"] in ("PASS", "WARN")
            assert set(soak_tuning) >= {"deltas", "rationale", "applied"}
            assert soak_overrides["min_interval_ms"] == 65
        """
    )
    result = soak.runpytest("--soak-iterations=2", *MOCK, "-v")
    assert result.ret == 0
    result.assert_outcomes(passed=7, warnings=3)
    result.stdout.fnmatch_lines(
        [
            "soakwatch::default::iteration[[]1[]] PASSED*",
            "*_in_order.py::test_net[[]default-iter1[]] PASSED*",
            "*::test_overrides[[]default-iter1[]] PASSED*",
            "soakwatch::default::iteration[[]2[]] PASSED*",
            "*::test_net[[]default-iter2[]] PASSED*",
            "*::test_overrides[[]default-iter2[]] PASSED*",
            "soakwatch::default::kpi_gate PASSED*",
        ]
    )


def test_failing_user_assertion_fails_its_item(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_net(soak_summary): assert soak_summary['net_bps'] > 100")
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=3, failed=2, warnings=3)


def test_user_test_after_a_broken_iteration_is_skipped(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest(broken={1: BREAKERS["missing"]}))
    soak.makepyfile("def test_net(soak_summary): pass")
    result = soak.runpytest("--soak-iterations=2", "-rs")
    result.assert_outcomes(passed=3, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*soak 'default' iteration 1 broke"])


def test_observer_and_report_entry_hooks(soak: pytest.Pytester) -> None:
    soak.makeconftest(
        """
        def pytest_soak_iteration_done(iteration, summary, tuning):
            print("DONE", iteration.index, summary["kpi_verdict"], sorted(tuning["deltas"]))

        def pytest_soak_report_entry(soak, entry):
            entry["team"] = "mm-bot"
        """
    )
    result = soak.runpytest("--soak-iterations=1", *MOCK, "-s")
    assert result.ret == 0
    result.stdout.fnmatch_lines([lit("*DONE 1 WARN ['base_spread_bps_delta', 'tail_age_ms']")])
    assert read_json(soak.path / OUT / "TUNING_REPORT.json")[0]["team"] == "mm-bot"


# --- ids, selection, reports ---------------------------------------------------------------


def test_collect_only_lists_readable_ids(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2", *MOCK, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "soakwatch::default::iteration[[]1[]]",
            "soakwatch::default::iteration[[]2[]]",
            "soakwatch::default::kpi_gate",
        ]
    )
    assert not (soak.path / "artifacts").exists()


def test_keyword_selection(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=3", *MOCK, "-k", "iteration and not 3")
    result.assert_outcomes(passed=2, deselected=2, warnings=2)
    assert result.ret == pytest.ExitCode.OK  # the last iteration did not run: not judged
    result.stdout.fnmatch_lines(["| kpi_gate | verdict=NONE | reasons=[[][]] |"])


@pytest.mark.parametrize("selector", ["soakwatch::nosuch", "soakwatch::default::iteration[9]"])
def test_a_soak_node_id_that_names_nothing_is_not_found(
    soak: pytest.Pytester, selector: str
) -> None:
    result = soak.runpytest("--soak-iterations=3", *MOCK, selector)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = selector.replace("[", "[[]")
    result.stderr.fnmatch_lines([f"ERROR: not found: {shown} (no such soak item; soaks: default)"])
    assert not (soak.path / "artifacts").exists()


def test_a_soak_node_id_deselected_by_keyword_is_found(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=3", *MOCK, "soakwatch::default", "-k", "not 2")
    result.assert_outcomes(passed=3, deselected=1, warnings=3)


def test_node_id_selects_one_iteration_from_the_recorded_overrides(soak: pytest.Pytester) -> None:
    first = soak.runpytest("--soak-iterations=3", *MOCK, "--soak-auto-tune")
    assert first.ret == 0
    recorded = read_json(soak.path / OUT / "ITER_SUMMARY_2.json")["next_overrides"]
    result = soak.runpytest("--soak-iterations=3", *MOCK, "soakwatch::default::iteration[3]")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    again = read_json(soak.path / OUT / "ITER_SUMMARY_3.json")
    assert again["overrides"] == recorded
    assert again["overrides_source"] == "ITER_SUMMARY_2.json on disk"
    assert [e["iteration"] for e in read_json(soak.path / OUT / "TUNING_REPORT.json")] == [1, 2, 3]


def test_bare_soakwatch_argument_selects_the_soak_alone(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_ordinary(): pass")
    result = soak.runpytest("--soak-iterations=1", *MOCK, "soakwatch")
    result.assert_outcomes(passed=2, warnings=2)


@pytest.mark.parametrize("arg", ["soakwatch::default::iteration[3]", "soakwatch"])
def test_a_soak_argument_without_a_soak_says_how_to_ask_for_one(
    soak: pytest.Pytester, arg: str
) -> None:
    result = soak.runpytest(arg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = repr(arg).replace("[", "[[]")
    result.stderr.fnmatch_lines(
        [f"ERROR: soakwatch: {shown} selects soak items, but no soak is asked for: pass *"]
    )


def test_a_directory_named_soakwatch_is_collected_without_a_soak(soak: pytest.Pytester) -> None:
    soak.mkpydir("soakwatch").joinpath("test_x.py").write_text("def test_x(): pass\n")
    result = soak.runpytest("soakwatch")
    result.assert_outcomes(passed=1)


def test_last_failed_reruns_the_failed_gate(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{2: 'FAIL'}"))
    soak.runpytest("--soak-iterations=2")
    result = soak.runpytest("--soak-iterations=2", "--lf", "-v")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["soakwatch::default::kpi_gate FAILED*"])


def test_junit_properties_per_iteration(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=1", *MOCK, "--junitxml=junit.xml")
    assert result.ret == 0
    import xml.etree.ElementTree as ET

    case = ET.parse(soak.path / "junit.xml").getroot().find(".//testcase[@name='iteration[1]']")
    assert case is not None
    assert case.get("classname") == "soakwatch.default"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["kpi_verdict"] == "WARN"
    assert props["applied"] == "false"
    assert json.loads(props["drivers"]) == ["slippage_bps"]
    assert json.loads(props["advice"]) == {"base_spread_bps_delta": 0.02, "tail_age_ms": 30}
    assert float(props["net_bps"]) > 0
    assert "PytestWarning" not in result.stdout.str()


def test_json_report_carries_summaries_and_the_verdict(soak: pytest.Pytester) -> None:
    pytest.importorskip("pytest_jsonreport")
    soak.makeconftest(runner_conftest("{1: 'FAIL'}"))
    result = soak.runpytest(
        "--soak-iterations=1", "-k", "not kpi_gate", "--json-report", "--json-report-file=r.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_json(soak.path / "r.json")
    assert report["exitcode"] == result.ret
    assert report["soakwatch"] == {
        "default": {"verdict": "FAIL", "reasons": [], "failed": True},
    }
    meta = report["tests"][0]["metadata"]["soakwatch"]
    assert meta["iteration"] == 1
    assert meta["summary"]["kpi_verdict"] == "FAIL"


def test_artifacts_of_each_iteration_stay_and_latest_is_linked(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == 0
    out = soak.path / OUT
    for index in (1, 2):
        assert sorted(p.name for p in (out / "iterations" / str(index)).iterdir()) == [
            "EDGE_REPORT.json",
            "EDGE_SENTINEL.json",
            "KPI_GATE.json",
            "audit.jsonl",
        ]
    latest, last = out / "artifacts" / "audit.jsonl", out / "iterations" / "2" / "audit.jsonl"
    assert latest.read_bytes() == last.read_bytes()
    assert os.path.samefile(latest, last)


def test_a_fresh_full_soak_replaces_the_previous_outputs(soak: pytest.Pytester) -> None:
    soak.runpytest("--soak-iterations=3", *MOCK)
    result = soak.runpytest("--soak-iterations=2", *MOCK)
    assert result.ret == 0
    out = soak.path / OUT
    assert not (out / "ITER_SUMMARY_3.json").exists()
    assert [e["iteration"] for e in read_json(out / "TUNING_REPORT.json")] == [1, 2]


def test_rerunning_one_iteration_keeps_the_soak_verdict(soak: pytest.Pytester) -> None:
    """Iteration 2 alone, after a full soak: the soak's final iteration still decides."""
    assert soak.runpytest("--soak-iterations=3", *MOCK, "--soak-auto-tune").ret == 0
    result = soak.runpytest("--soak-iterations=3", *MOCK, "soakwatch::default::iteration[2]")
    assert result.ret == 0
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([lit("| kpi_gate | verdict=PASS | reasons=[] |")])
    assert read_json(soak.path / OUT / "artifacts" / "KPI_GATE.json")["verdict"] == "PASS"
    assert [e["kpi_verdict"] for e in read_json(soak.path / OUT / "TUNING_REPORT.json")] == [
        "WARN",
        "WARN",
        "PASS",
    ]


def test_gate_alone_judges_the_recorded_soak_and_prints_its_line(soak: pytest.Pytester) -> None:
    soak.makeconftest(runner_conftest("{2: 'FAIL'}", "{2: ['EDGE:net_bps']}"))
    soak.runpytest("--soak-iterations=2")
    result = soak.runpytest("--soak-iterations=2", "soakwatch::default::kpi_gate")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([lit("| kpi_gate | verdict=FAIL | reasons=[EDGE:net_bps] |")])


def test_flags_can_be_turned_off_on_the_command_line(
    soak: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOAKWATCH_AUTO_TUNE", "1")
    soak.makeini("[pytest]\nsoak_mock = true\n")
    result = soak.runpytest("--soak-iterations=2", "--no-soak-auto-tune")
    assert result.ret == 0
    assert not read_json(soak.path / OUT / "ITER_SUMMARY_1.json")["tuning"]["applied"]
    result = soak.runpytest("--soak-iterations=2", "--no-soak-mock")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_soak_items_carry_a_marker(soak: pytest.Pytester) -> None:
    soak.makepyfile("def test_ordinary(): pass")
    result = soak.runpytest("--soak-iterations=2", *MOCK, "-m", "soakwatch")
    result.assert_outcomes(passed=3, deselected=1, warnings=3)
    result = soak.runpytest("--soak-iterations=2", *MOCK, "-m", "not soakwatch")
    result.assert_outcomes(passed=1, deselected=3)
    result = soak.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.soakwatch: an item of a soak*"])


def test_collect_only_prints_no_soak_summary(soak: pytest.Pytester) -> None:
    result = soak.runpytest("--soak-iterations=2", *MOCK, "--collect-only")
    assert result.ret == 0
    assert not [line for line in result.outlines if "soakwatch ===" in line or "kpi_gate |" in line]
