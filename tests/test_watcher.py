"""process_iteration: the iteration's files, the cumulative report, the markers; atomic writes."""

from __future__ import annotations

import enum
import json
import os

import pytest

from pytest_soakwatch import SoakwatchError, default_overrides, process_iteration
from pytest_soakwatch.files import write_atomic

SEED_SUMMARY_MARKER = "| iter_watch | SUMMARY | iter=1 net=2.5 drivers=['slippage_bps'] kpi=WARN |"
SEED_SUGGEST_MARKER = (
    '| iter_watch | SUGGEST | {"base_spread_bps_delta": 0.02, "tail_age_ms": 30} |'
)
SEED_RATIONALE_MARKER = (
    "| iter_watch | RATIONALE | slippage_bps=3.50 (driver) → widen spread +0.02, tail +30ms |"
)
REPORT_ENTRY_KEYS = {
    "iteration",
    "runtime_utc",
    "net_bps",
    "kpi_verdict",
    "suggested_deltas",
    "rationale",
    "applied",
}


@pytest.fixture
def seed_iteration(write_artifacts, tmp_path):
    """The seed's first iteration: net 2.5, slippage the driver, KPI WARN, blocks below limits."""
    return write_artifacts(
        tmp_path / "seed-artifacts",
        edge={
            "totals": {
                "net_bps": 2.5,
                "gross_bps": 10.0,
                "adverse_bps": 2.0,
                "slippage_bps": 3.5,
                "neg_edge_drivers": ["slippage_bps"],
            },
            "runtime": {"utc": "2025-10-13T12:00:00Z", "version": "0.1.0"},
        },
        kpi={"verdict": "WARN", "reasons": ["EDGE:slippage"]},
        audit_lines=[{"fields": {"allowed": 0, "reason": "min_interval"}}] * 15
        + [{"fields": {"allowed": 0, "reason": "concurrency"}}] * 12
        + [{"fields": {"allowed": 1}}] * 73,
    )


@pytest.fixture
def quiet_iteration(write_artifacts, tmp_path):
    """The seed's second iteration: net 2.8, no drivers, PASS, nothing to tune."""
    return write_artifacts(
        tmp_path / "quiet-artifacts",
        edge={"totals": {"net_bps": 2.8, "slippage_bps": 1.0, "neg_edge_drivers": []}},
        kpi={"verdict": "PASS", "reasons": []},
    )


@pytest.fixture
def net_iteration(write_artifacts, tmp_path):
    """``net_iteration(n)``: artifacts whose net_bps is ``n + 0.5`` (to tell entries apart)."""

    def make(n):
        return write_artifacts(tmp_path / f"artifacts-{n}", edge={"totals": {"net_bps": n + 0.5}})

    return make


def run(iteration, artifacts_dir, output_dir, **kwargs):
    lines = []
    record = process_iteration(
        iteration, artifacts_dir, output_dir, default_overrides(), emit=lines.append, **kwargs
    )
    return record, lines


def read_report(output_dir):
    return json.loads((output_dir / "TUNING_REPORT.json").read_text(encoding="utf-8"))


def assert_sorted_keys(text):
    def hook(pairs):
        keys = [key for key, _ in pairs]
        assert keys == sorted(keys), keys
        return dict(pairs)

    return json.loads(text, object_pairs_hook=hook)


# --- ITER_SUMMARY_N.json -------------------------------------------------------------------------


def test_iter_summary_file(seed_iteration, tmp_path):
    out = tmp_path / "out"
    record, _ = run(1, seed_iteration, out)

    raw = (out / "ITER_SUMMARY_1.json").read_bytes()
    data = assert_sorted_keys(raw.decode("utf-8"))

    assert set(data) == {"iteration", "summary", "tuning", "overrides", "next_overrides"}
    assert data == json.loads(json.dumps(record))
    assert data["iteration"] == 1
    assert data["summary"]["net_bps"] == 2.5
    assert data["summary"]["blocks"]["ratios"] == {
        "min_interval": 15.0,
        "concurrency": 12.0,
        "allowed": 73.0,
    }
    assert data["tuning"]["deltas"] == {"base_spread_bps_delta": 0.02, "tail_age_ms": 30}
    assert data["tuning"]["applied"] is False
    assert data["overrides"] == default_overrides()
    assert data["next_overrides"] == default_overrides()
    assert "→".encode() in raw  # UTF-8 text, not \u escapes


def test_output_dir_is_created_and_string_paths_work(seed_iteration, tmp_path):
    out = tmp_path / "deep" / "out"

    process_iteration(1, str(seed_iteration), str(out), {}, print_markers=False)

    assert (out / "ITER_SUMMARY_1.json").is_file()
    assert (out / "TUNING_REPORT.json").is_file()


def test_auto_tune_applies_the_advice_exactly(seed_iteration, tmp_path):
    out = tmp_path / "out"
    record, _ = run(1, seed_iteration, out, auto_tune=True)

    expected_next = {**default_overrides(), "base_spread_bps_delta": 0.16, "tail_age_ms": 650}
    assert record["next_overrides"] == expected_next
    assert record["overrides"] == default_overrides()
    assert record["tuning"]["applied"] is True
    assert record["tuning"]["clamped"] == []

    text = (out / "ITER_SUMMARY_1.json").read_text(encoding="utf-8")
    assert json.loads(text)["next_overrides"] == expected_next
    assert "0.16" in text
    assert "0.16000000000000003" not in text
    assert read_report(out)[0]["applied"] is True


def test_auto_tune_reports_clamped_keys(seed_iteration, tmp_path):
    overrides = {**default_overrides(), "tail_age_ms": 790}

    record = process_iteration(
        1, seed_iteration, tmp_path / "out", overrides, print_markers=False, auto_tune=True
    )

    assert record["next_overrides"]["tail_age_ms"] == 800
    assert record["tuning"]["clamped"] == ["tail_age_ms"]


def test_auto_tune_with_nothing_to_tune_keeps_overrides(quiet_iteration, tmp_path):
    record, _ = run(2, quiet_iteration, tmp_path / "out", auto_tune=True)

    assert record["next_overrides"] == default_overrides()
    assert record["tuning"]["applied"] is False


def test_current_overrides_are_not_mutated(seed_iteration, tmp_path):
    overrides = default_overrides()

    process_iteration(1, seed_iteration, tmp_path / "out", overrides, False, auto_tune=True)

    assert overrides == default_overrides()


def test_bad_artifacts_raise_and_write_nothing(write_artifacts, tmp_path):
    artifacts = write_artifacts(edge='{"totals": {"net_bps": NaN}}')
    out = tmp_path / "out"

    with pytest.raises(SoakwatchError):
        run(1, artifacts, out)

    assert not (out / "ITER_SUMMARY_1.json").exists()
    assert not (out / "TUNING_REPORT.json").exists()


# --- TUNING_REPORT.json ---------------------------------------------------------------------------


def test_report_entries_in_the_seed_form(seed_iteration, quiet_iteration, tmp_path):
    out = tmp_path / "out"
    run(1, seed_iteration, out)
    run(2, quiet_iteration, out)

    report = read_report(out)

    assert [entry["iteration"] for entry in report] == [1, 2]
    assert all(entry.keys() >= REPORT_ENTRY_KEYS for entry in report)
    assert {key: report[0][key] for key in REPORT_ENTRY_KEYS} == {
        "iteration": 1,
        "runtime_utc": "2025-10-13T12:00:00Z",
        "net_bps": 2.5,
        "kpi_verdict": "WARN",
        "suggested_deltas": {"base_spread_bps_delta": 0.02, "tail_age_ms": 30},
        "rationale": "slippage_bps=3.50 (driver) → widen spread +0.02, tail +30ms",
        "applied": False,
    }
    assert {key: report[1][key] for key in REPORT_ENTRY_KEYS} == {
        "iteration": 2,
        "runtime_utc": None,
        "net_bps": 2.8,
        "kpi_verdict": "PASS",
        "suggested_deltas": {},
        "rationale": "No micro-adjustments needed",
        "applied": False,
    }


def test_report_file_is_utf8_with_sorted_keys(seed_iteration, quiet_iteration, tmp_path):
    out = tmp_path / "out"
    run(1, seed_iteration, out)
    run(2, quiet_iteration, out)

    raw = (out / "TUNING_REPORT.json").read_bytes()

    assert isinstance(assert_sorted_keys(raw.decode("utf-8")), list)
    assert "→".encode() in raw


@pytest.mark.parametrize(
    ("order", "expected_nets"),
    [
        ([1, 2, 3], {1: 1.5, 2: 2.5, 3: 3.5}),
        ([1, 2, 3, 2], {1: 1.5, 2: 102.5, 3: 3.5}),
        ([1, 2, 3, 3], {1: 1.5, 2: 2.5, 3: 103.5}),
        ([1, 1], {1: 101.5}),
        ([3, 1, 2], {1: 1.5, 2: 2.5, 3: 3.5}),
        ([2, 5, 1, 4, 3], {1: 1.5, 2: 2.5, 3: 3.5, 4: 4.5, 5: 5.5}),
        ([1, 3, 2, 3, 1], {1: 101.5, 2: 2.5, 3: 103.5}),
    ],
    ids=["in-order", "redo-middle", "redo-last", "redo-only", "out-of-order", "shuffled", "mixed"],
)
def test_report_one_entry_per_iteration_sorted(net_iteration, tmp_path, order, expected_nets):
    out = tmp_path / "out"
    seen = set()
    for n in order:
        # A repeated iteration gets different artifacts, so we can tell which one is kept.
        artifacts = net_iteration(n + 100 if n in seen else n)
        seen.add(n)
        run(n, artifacts, out)

    report = read_report(out)

    assert [entry["iteration"] for entry in report] == sorted(expected_nets)
    assert {entry["iteration"]: entry["net_bps"] for entry in report} == expected_nets


def test_many_appends_keep_a_valid_list(net_iteration, tmp_path):
    out = tmp_path / "out"
    artifacts = net_iteration(0)
    for n in range(1, 41):
        run(n, artifacts, out)
        if n in (1, 2, 17, 40):
            assert [e["iteration"] for e in read_report(out)] == list(range(1, n + 1))

    run(7, net_iteration(7), out)  # a redo after many appends

    report = read_report(out)
    assert [entry["iteration"] for entry in report] == list(range(1, 41))
    assert report[6]["net_bps"] == 7.5
    redone = json.loads((out / "ITER_SUMMARY_7.json").read_text(encoding="utf-8"))
    assert redone["summary"]["net_bps"] == 7.5
    run(41, artifacts, out)
    assert [entry["iteration"] for entry in read_report(out)] == list(range(1, 42))


@pytest.mark.parametrize(
    "existing",
    [
        "[]",
        "[]\n",
        '[\n  {\n    "iteration": 1,\n    "net_bps": 9.0\n  }\n]',
        '[{"iteration": 1, "net_bps": 9.0}]\n',
        '[\n{"iteration": 1, "net_bps": 9.0}\n]\n',
    ],
    ids=["empty", "empty-newline", "seed-indented", "one-line", "our-layout"],
)
def test_report_written_by_others_is_extended(net_iteration, tmp_path, existing):
    out = tmp_path / "out"
    out.mkdir()
    (out / "TUNING_REPORT.json").write_text(existing, encoding="utf-8")

    run(2, net_iteration(2), out)

    report = read_report(out)
    assert [entry["iteration"] for entry in report] == (
        [2] if "iteration" not in existing else [1, 2]
    )
    assert report[-1]["net_bps"] == 2.5


# --- markers --------------------------------------------------------------------------------------


def test_seed_markers_exactly(seed_iteration, tmp_path):
    _, lines = run(1, seed_iteration, tmp_path / "out")

    assert lines == [SEED_SUMMARY_MARKER, SEED_SUGGEST_MARKER, SEED_RATIONALE_MARKER]


def test_markers_without_advice(quiet_iteration, tmp_path):
    _, lines = run(2, quiet_iteration, tmp_path / "out")

    assert lines == [
        "| iter_watch | SUMMARY | iter=2 net=2.8 drivers=[] kpi=PASS |",
        "| iter_watch | SUGGEST | (none) |",
    ]


def test_markers_printed_to_stdout_by_default(seed_iteration, quiet_iteration, tmp_path, capsys):
    out = tmp_path / "out"
    process_iteration(1, seed_iteration, out, default_overrides())
    process_iteration(2, quiet_iteration, out, default_overrides(), print_markers=True)

    assert capsys.readouterr().out.splitlines() == [
        SEED_SUMMARY_MARKER,
        SEED_SUGGEST_MARKER,
        SEED_RATIONALE_MARKER,
        "| iter_watch | SUMMARY | iter=2 net=2.8 drivers=[] kpi=PASS |",
        "| iter_watch | SUGGEST | (none) |",
    ]


def test_marker_with_several_rules_and_missing_net(write_artifacts, tmp_path):
    artifacts = write_artifacts(
        edge={"totals": {"adverse_bps": 12.0, "block_reasons": {"min_interval": {"ratio": 0.4}}}},
        kpi={"verdict": "FAIL", "reasons": ["EDGE:adverse"]},
    )

    _, lines = run(3, artifacts, tmp_path / "out")

    assert lines == [
        "| iter_watch | SUMMARY | iter=3 net=n/a drivers=[] kpi=FAIL |",
        '| iter_watch | SUGGEST | {"impact_cap_ratio": -0.01, "max_delta_ratio": -0.01, '
        '"min_interval_ms": 10} |',
        "| iter_watch | RATIONALE | adverse_bps=12.00 > 10 → impact_cap -0.01, max_delta -0.01"
        " | min_interval blocks=40.0% > 35% → min_interval +10ms |",
    ]


def test_print_markers_false_prints_nothing(seed_iteration, tmp_path, capsys):
    emitted = []

    process_iteration(
        1, seed_iteration, tmp_path / "out", {}, print_markers=False, emit=emitted.append
    )
    process_iteration(2, seed_iteration, tmp_path / "out", {}, print_markers=False)

    assert emitted == []
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "out" / "ITER_SUMMARY_2.json").is_file()


# --- atomic writes --------------------------------------------------------------------------------


def test_write_atomic_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "ITER_SUMMARY_1.json"

    write_atomic(target, '{"a": "→"}\n')
    write_atomic(target, '{"b": 2}\n')

    assert target.read_bytes() == b'{"b": 2}\n'
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_write_atomic_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "TUNING_REPORT.json"
    target.write_text("[1]\n", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, "[1, 2]\n")

    assert target.read_text(encoding="utf-8") == "[1]\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_write_atomic_keeps_the_old_file_when_writing_fails_midway(tmp_path):
    target = tmp_path / "ITER_SUMMARY_1.json"
    target.write_text('{"old": true}\n', encoding="utf-8")

    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, '{"new": "' + "x" * 100_000 + '\ud800"}')  # unencodable at the end

    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_failed_iteration_write_keeps_previous_summary(seed_iteration, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run(1, seed_iteration, out)
    before = (out / "ITER_SUMMARY_1.json").read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SoakwatchError, match=r"out: cannot write \(disk gone\)$"):
        run(1, seed_iteration, out, auto_tune=True)

    assert (out / "ITER_SUMMARY_1.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["ITER_SUMMARY_1.json", "TUNING_REPORT.json"]


@pytest.mark.parametrize("iteration", [41, 40, 7], ids=["append", "redo-last", "redo-middle"])
def test_report_stays_valid_when_the_disk_fills_midway(
    net_iteration, seed_iteration, tmp_path, iteration
):
    """A write that fails partway (disk full) leaves the old TUNING_REPORT.json, not half of one."""
    resource = pytest.importorskip("resource")
    out = tmp_path / "out"
    artifacts = net_iteration(0)
    for n in range(1, 41):
        run(n, artifacts, out)
    report = out / "TUNING_REPORT.json"
    before = report.read_bytes()
    assert len(before) > 4 * len((out / "ITER_SUMMARY_1.json").read_bytes())

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # No file may grow past 10 bytes more than the report: ITER_SUMMARY_N.json still fits, the
    # report's update (an entry with advice, longer than the others) does not.
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 10, hard))
    try:
        with pytest.raises(SoakwatchError, match=r"cannot write \(File too large\)$"):
            process_iteration(iteration, seed_iteration, out, {}, print_markers=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    assert (
        json.loads((out / f"ITER_SUMMARY_{iteration}.json").read_text(encoding="utf-8"))[
            "iteration"
        ]
        == iteration
    )
    assert report.read_bytes() == before
    assert [entry["iteration"] for entry in read_report(out)] == list(range(1, 41))


def test_markers_print_on_a_console_that_cannot_show_the_arrow(
    net_iteration, seed_iteration, tmp_path, monkeypatch
):
    """A cp1252 console (Windows) cannot encode '→': the marker is escaped, not an error."""
    import io
    import sys

    console = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="strict")
    monkeypatch.setattr(sys, "stdout", console)
    process_iteration(1, seed_iteration, tmp_path / "out", {})
    console.flush()
    text = console.buffer.getvalue().decode("cp1252")
    assert "| iter_watch | RATIONALE | slippage_bps=3.50 (driver) \\u2192 widen spread" in text


@pytest.mark.parametrize(
    ("encoding", "shown"),
    [
        ("cp1252", "tail \\u2192 +30ms\n"),
        ("utf-8", "tail → +30ms\n"),
        (None, "tail → +30ms\n"),
        ("no-such-codec", "tail → +30ms\n"),
    ],
)
def test_showable_escapes_only_what_the_encoding_cannot_show(
    encoding: str | None, shown: str
) -> None:
    from pytest_soakwatch.markers import showable

    assert showable("tail → +30ms\n", encoding) == shown


def test_a_message_stays_on_its_marker_line() -> None:
    from pytest_soakwatch.markers import error_marker, gate_marker

    forged = "boom\n| kpi_gate | verdict=PASS | reasons=[] |\x1b[31m\x00\u2028"
    assert error_marker(1, forged) == (
        "| iter_watch | ERROR | iter=1 boom\\n| kpi_gate | verdict=PASS | reasons=[] |"
        "\\x1b[31m\\x00\\u2028 |"
    )
    assert gate_marker("FAIL", ["EDGE:a\r\nb", "c\td"]) == (
        "| kpi_gate | verdict=FAIL | reasons=[EDGE:a\\r\\nb, c\\td] |"
    )


def test_one_line_escapes_exactly_the_controls_and_line_separators() -> None:
    """Every code point: the printable shortcut changes nothing the escape table would."""
    from pytest_soakwatch.markers import one_line

    escaped = {
        **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        0x2028: "\\u2028",
        0x2029: "\\u2029",
    }
    wrong = [
        hex(code)
        for code in range(0x110000)
        if one_line(f"a{chr(code)}b") != f"a{escaped.get(code, chr(code))}b"
    ]
    assert wrong == []
    assert one_line("net\u00a0bps \ue000 ok") == "net\u00a0bps \ue000 ok"  # not printable, kept


def test_one_line_gives_the_text_of_a_str_subclass() -> None:
    """A soak name may come as a ``str`` enum: its marker shows the value, not the member."""
    from pytest_soakwatch.markers import error_marker, one_line

    class Soak(str, enum.Enum):
        NIGHTLY = "nightly"

    assert type(one_line(Soak.NIGHTLY)) is str
    assert one_line(Soak.NIGHTLY) == "nightly"
    assert error_marker(3, "x", Soak.NIGHTLY) == "| iter_watch | ERROR | soak=nightly iter=3 x |"


def test_the_gate_message_keeps_a_reason_on_its_line() -> None:
    from pytest_soakwatch.gate import Outcome, judge

    result = judge({1: Outcome("FAIL", ("bad\nline | kpi_gate | verdict=PASS |\x07",))}, 1)
    assert result is not None
    assert result.message == (
        "KPI verdict FAIL after iteration 1: bad\\nline | kpi_gate | verdict=PASS |\\x07"
    )
    assert result.reasons == ["bad\nline | kpi_gate | verdict=PASS |\x07"]  # as recorded


@pytest.mark.parametrize(
    ("iteration", "message"),
    [
        (True, "iteration: expected a whole number, got True"),
        ("7", "iteration: expected a whole number, got '7'"),
        (1.5, "iteration: expected a whole number, got 1.5"),
        (0, "iteration: expected a whole number >= 1 and <= 1,000,000, got 0"),
        (
            10**40,
            "iteration: expected a whole number >= 1 and <= 1,000,000, "
            "got 10000000000000000000... (41 digits)",
        ),
        ("../../escaped", "iteration: expected a whole number, got '../../escaped'"),
    ],
)
def test_process_iteration_refuses_an_odd_iteration_before_writing(
    seed_iteration, tmp_path, iteration, message
):
    out = tmp_path / "out"
    with pytest.raises(SoakwatchError) as raised:
        run(iteration, seed_iteration, out)
    assert str(raised.value) == message
    assert not out.exists()
    assert not (tmp_path / "escaped.json").exists()


def test_process_iteration_refuses_odd_overrides(seed_iteration, tmp_path):
    with pytest.raises(SoakwatchError) as raised:
        process_iteration(1, seed_iteration, tmp_path / "out", {"tail_age_ms": float("nan")})
    assert str(raised.value) == "current overrides tail_age_ms: expected a finite number, got nan"


def test_a_soak_name_stays_on_its_marker_line(seed_iteration, tmp_path):
    _, lines = run(1, seed_iteration, tmp_path / "out", soak="a\n| kpi_gate | verdict=PASS |")
    assert all(line.startswith("| iter_watch | ") for line in lines)
    assert lines[0].startswith(
        "| iter_watch | SUMMARY | soak=a\\n| kpi_gate | verdict=PASS | iter=1 "
    )


def test_a_number_too_long_to_print_is_described():
    from pytest_soakwatch.values import whole_number

    with pytest.raises(SoakwatchError) as raised:
        whole_number(10**5000, "iteration", 1, 10)  # str() of it would raise ValueError
    assert str(raised.value) == (
        "iteration: expected a whole number >= 1 and <= 10, got a number of thousands of digits"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"current_overrides": [1]}, "current overrides: expected a mapping, got list"),
        ({"soak": 5}, "soak: expected a name, got 5"),
    ],
)
def test_process_iteration_refuses_odd_arguments_before_writing(
    seed_iteration, tmp_path, kwargs, message
):
    out = tmp_path / "out"
    with pytest.raises(SoakwatchError) as raised:
        process_iteration(1, seed_iteration, out, **kwargs)
    assert str(raised.value) == message
    assert not out.exists()


def test_process_iteration_refuses_odd_bounds_even_without_auto_tune(seed_iteration, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SoakwatchError) as raised:
        process_iteration(1, seed_iteration, out, bounds={"tail_age_ms": (900, 500)})
    assert str(raised.value) == "bounds tail_age_ms: min 900 is above max 500"
    assert not out.exists()
