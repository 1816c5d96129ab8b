"""Strict reading of the JSON artifacts: every problem is a SoakwatchError naming file and place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_soakwatch import SoakwatchError, summarize_iteration
from pytest_soakwatch.strictjson import MAX_DEPTH, loads_strict, read_json_object

DEEP = 100_000


def assert_names(message: str, source: str, place: str) -> None:
    """The message names the source and matches ``place`` (a regex for the field or line)."""
    assert source in message, message
    rest = message.replace(source, "")
    assert re.search(place, rest), f"{place!r} not in {message!r}"


# (id, EDGE_REPORT.json content, regex the message must match besides the path)
EDGE_CASES = [
    ("nan", '{"totals": {"net_bps": NaN}}', r"net_bps|line \d+"),
    ("infinity", '{"totals": {"net_bps": Infinity}}', r"net_bps|line \d+"),
    ("minus-infinity", '{"totals": {"net_bps": -Infinity}}', r"net_bps|line \d+"),
    ("overflow", '{"totals": {"net_bps": 1e999}}', r"net_bps|line \d+"),
    ("overflow-negative", '{"totals": {"gross_bps": -1e999}}', r"gross_bps|line \d+"),
    ("overflow-int", '{"totals": {"net_bps": 1' + "0" * 400 + "}}", r"net_bps"),
    ("duplicate-top", '{"totals": {}, "totals": {}}', r"'totals'"),
    ("duplicate-nested", '{"totals": {"net_bps": 1.0, "net_bps": 2.0}}', r"'net_bps'"),
    (
        "duplicate-deep",
        '{"totals": {"component_breakdown": {"slippage_bps": 1, "slippage_bps": 2}}}',
        r"'slippage_bps'",
    ),
    ("top-list", "[]", r"top level"),
    ("top-string", '"totals"', r"top level"),
    ("top-number", "12", r"top level"),
    ("top-null", "null", r"top level"),
    ("bool-number", '{"totals": {"net_bps": true}}', r"totals\.net_bps"),
    ("string-number", '{"totals": {"net_bps": "2.5"}}', r"totals\.net_bps"),
    ("bool-in-total", '{"total": {"adverse_bps": false}}', r"total\.adverse_bps"),
    (
        "string-in-breakdown",
        '{"totals": {"component_breakdown": {"slippage_bps": "3.5"}}}',
        r"component_breakdown\.slippage_bps",
    ),
    (
        "string-block-ratio",
        '{"totals": {"block_reasons": {"risk": {"count": 1, "ratio": "0.5"}}}}',
        r"block_reasons\.risk\.ratio",
    ),
    (
        "block-ratio-bare",
        '{"totals": {"block_reasons": {"risk": 0.4}}}',
        r"totals\.block_reasons\.risk: expected an object with a 'ratio'",
    ),
    ("drivers-not-list", '{"totals": {"neg_edge_drivers": "slippage_bps"}}', r"neg_edge_drivers"),
    ("drivers-not-strings", '{"totals": {"neg_edge_drivers": [1]}}', r"neg_edge_drivers"),
    ("totals-not-object", '{"totals": [1, 2]}', r"totals"),
    ("runtime-utc-number", '{"totals": {}, "runtime": {"utc": 5}}', r"runtime\.utc"),
    ("deep-arrays-open", "[" * DEEP, r"nesting|deep"),
    ("deep-arrays-closed", "[" * DEEP + "]" * DEEP, r"nesting|deep"),
    ("deep-objects", '{"a": ' * DEEP + "1" + "}" * DEEP, r"nesting|deep"),
    ("deep-in-totals", '{"totals": {"x": ' + "[" * DEEP + "]" * DEEP + "}}", r"nesting|deep"),
    ("past-max-depth", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), r"nesting|deep"),
    ("truncated", '{"totals": {"net_bps": 1.5', r"line 1"),
    ("truncated-multiline", '{\n  "totals": {\n    "net_bps": 1.5,\n', r"line \d+"),
    ("empty-file", "", r"line 1"),
    ("trailing-garbage", '{"totals": {}} x', r"line 1"),
    (
        "lone-surrogate",
        '{"totals": {"neg_edge_drivers": ["\\ud800"]}}',
        r"^: totals\.neg_edge_drivers\[0\]: lone surrogate \\ud800 is not text$",
    ),
    ("lone-surrogate-key", '{"totals": {"\\udc00x": 1}}', r"^: totals: lone surrogate \\udc00 is"),
]


def test_invalid_utf8_names_file_and_byte(write_artifacts):
    directory = write_artifacts(edge=b'{"totals": {"net_bps": 1.0}, "x": "\xff"}')

    with pytest.raises(SoakwatchError) as excinfo:
        summarize_iteration(directory)

    assert_names(str(excinfo.value), str(directory / "EDGE_REPORT.json"), r"UTF-8.*byte 35")


# (id, KPI_GATE.json content, regex the message must match besides the path)
KPI_CASES = [
    ("unknown-verdict", '{"verdict": "MAYBE", "reasons": []}', r"verdict.*'MAYBE'"),
    ("lowercase-verdict", '{"verdict": "pass", "reasons": []}', r"verdict.*'pass'"),
    ("missing-verdict", '{"reasons": []}', r"verdict"),
    ("bool-verdict", '{"verdict": true}', r"verdict"),
    ("reasons-not-list", '{"verdict": "PASS", "reasons": "EDGE"}', r"reasons"),
    ("reasons-not-strings", '{"verdict": "PASS", "reasons": [1]}', r"reasons"),
    ("duplicate-verdict", '{"verdict": "PASS", "verdict": "FAIL"}', r"'verdict'"),
    ("nan", '{"verdict": "PASS", "score": NaN}', r"score|line \d+"),
    ("top-list", '["PASS"]', r"top level"),
    ("truncated", '{"verdict": "PA', r"line 1"),
    ("lone-surrogate", '{"verdict": "PASS", "reasons": ["\\uDBFF"]}', r"reasons\[0\]: lone"),
]


SENTINEL_CASES = [
    ("advice-string", '{"advice": "widen spread"}', r"advice"),
    ("advice-not-strings", '{"advice": ["ok", 3]}', r"advice"),
    ("top-list", '["widen spread"]', r"top level"),
    ("infinity", '{"advice": [], "summary": {"score": Infinity}}', r"score|line \d+"),
]


#: artifact (the ``write_artifacts`` keyword) -> its file name
FILES = {"edge": "EDGE_REPORT.json", "kpi": "KPI_GATE.json", "sentinel": "EDGE_SENTINEL.json"}
MALFORMED = [
    *(("edge", *case) for case in EDGE_CASES),
    *(("kpi", *case) for case in KPI_CASES),
    *(("sentinel", *case) for case in SENTINEL_CASES),
]


@pytest.mark.parametrize(
    ("artifact", "content", "place"),
    [(artifact, content, place) for artifact, _, content, place in MALFORMED],
    ids=[f"{artifact}-{case_id}" for artifact, case_id, _, _ in MALFORMED],
)
def test_malformed_artifact_raises_soakwatch_error(write_artifacts, artifact, content, place):
    directory = write_artifacts(**{artifact: content})

    with pytest.raises(SoakwatchError) as excinfo:
        summarize_iteration(directory)

    assert_names(str(excinfo.value), str(directory / FILES[artifact]), place)


def test_missing_edge_report_names_the_file(tmp_path):
    (tmp_path / "artifacts").mkdir()

    with pytest.raises(SoakwatchError) as excinfo:
        summarize_iteration(tmp_path / "artifacts")

    assert_names(str(excinfo.value), str(tmp_path / "artifacts" / "EDGE_REPORT.json"), "not found")


def test_errors_name_the_file_by_its_normal_path(tmp_path, monkeypatch):
    (tmp_path / "artifacts").mkdir()
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SoakwatchError) as excinfo:
        summarize_iteration("./artifacts/")

    message = str(excinfo.value)
    assert message.startswith(f"{Path('artifacts', 'EDGE_REPORT.json')}: "), message


def test_missing_artifacts_directory_is_an_error(tmp_path):
    with pytest.raises(SoakwatchError, match="not found") as excinfo:
        summarize_iteration(tmp_path / "nowhere")

    assert str(tmp_path / "nowhere") in str(excinfo.value)


def test_utf8_bom_is_accepted_in_every_json_artifact(write_artifacts):
    bom = b"\xef\xbb\xbf"
    directory = write_artifacts(
        edge=bom + b'{"totals": {"net_bps": 3.0}}',
        kpi=bom + b'{"verdict": "WARN", "reasons": ["EDGE:ws_lag"]}',
        sentinel=bom + b'{"advice": ["widen spread on BTCUSDT"]}',
    )

    summary = summarize_iteration(directory)

    assert summary["net_bps"] == 3.0
    assert summary["kpi_verdict"] == "WARN"
    assert summary["kpi_reasons"] == ["EDGE:ws_lag"]
    assert summary["sentinel_advice"] == ["widen spread on BTCUSDT"]


# --- loads_strict / read_json_object directly -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"a": 1, "b": [1.5, -2e3, null, true, "x"]}',
            {"a": 1, "b": [1.5, -2000.0, None, True, "x"]},
        ),
        (b'{"a": "\xc3\xa9"}', {"a": "é"}),
        ("\ufeff[1]", [1]),
        (b"\xef\xbb\xbf{}", {}),
        ("1e308", 1e308),
        ('{"a": {"a": 1}}', {"a": {"a": 1}}),  # the same key at different levels is fine
        ('["\\ud83d\\ude00", "\\u2192"]', ["\U0001f600", "\u2192"]),  # a pair is one character
    ],
)
def test_loads_strict_accepts_plain_json(text, expected):
    assert loads_strict(text, "src") == expected


@pytest.mark.parametrize(
    "text",
    ["NaN", "[Infinity]", "[-Infinity]", "[1e400]", '{"k": 1, "k": 1}', "[" * DEEP, "{", b"\x80"],
)
def test_loads_strict_refuses_with_the_source_named(text):
    with pytest.raises(SoakwatchError, match=r"^my-source: "):
        loads_strict(text, "my-source")


@pytest.mark.parametrize(
    ("depth", "accepted"), [(MAX_DEPTH, True), (MAX_DEPTH + 1, False)], ids=["at-max", "past-max"]
)
def test_nesting_limit_is_max_depth(depth, accepted):
    text = "[" * depth + "]" * depth
    if accepted:
        assert loads_strict(text, "src") is not None
    else:
        with pytest.raises(SoakwatchError, match=f"deeper than {MAX_DEPTH}"):
            loads_strict(text, "src")


def test_read_json_object_missing_file(tmp_path):
    with pytest.raises(SoakwatchError, match="file not found") as excinfo:
        read_json_object(tmp_path / "absent.json")

    assert str(tmp_path / "absent.json") in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[]", "an array"), ('"s"', "a string"), ("3.5", "a number"), ("true", "a boolean")],
)
def test_read_json_object_names_what_the_top_level_was(tmp_path, text, kind):
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SoakwatchError) as excinfo:
        read_json_object(path)

    assert str(excinfo.value) == f"{path}: expected a JSON object at the top level, got {kind}"


def test_a_json_artifact_too_large_to_be_one_is_refused_unread(write_artifacts, monkeypatch):
    from pytest_soakwatch import strictjson

    monkeypatch.setattr(strictjson, "MAX_BYTES", 2**20)
    directory = write_artifacts(edge={"totals": {}})
    with (directory / "EDGE_REPORT.json").open("r+b") as stream:
        stream.truncate(2 * 2**20)  # sparse: a runaway or preallocated file
    with pytest.raises(SoakwatchError) as raised:
        summarize_iteration(directory)
    assert str(raised.value) == f"{directory / 'EDGE_REPORT.json'}: cannot read (larger than 1 MiB)"
