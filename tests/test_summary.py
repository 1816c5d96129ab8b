"""summarize_iteration: what one iteration's artifacts say, in the seed's shape plus real fields."""

from __future__ import annotations

import os

import pytest

from pytest_soakwatch import SoakwatchError, Threshold, summarize_iteration

# FORMATS.md's EDGE_REPORT example, verbatim.
FORMATS_EDGE_REPORT = {
    "totals": {
        "net_bps": -1.5,
        "gross_bps": 5.0,
        "fees_eff_bps": 2.0,
        "inventory_bps": 1.0,
        "adverse_bps_p95": 5.0,
        "slippage_bps_p95": 3.5,
        "order_age_p95_ms": 340,
        "ws_lag_p95_ms": 130,
        "p95_latency_ms": 250.0,
        "replace_ratio": 0.31,
        "cancel_ratio": 0.60,
        "maker_share_pct": 88.0,
        "component_breakdown": {
            "gross_bps": 5.0,
            "fees_eff_bps": 2.0,
            "slippage_bps": 3.5,
            "adverse_bps": 2.0,
            "inventory_bps": 1.0,
            "net_bps": -1.5,
        },
        "neg_edge_drivers": ["slippage_bps", "adverse_bps"],
        "block_reasons": {
            "min_interval": {"count": 15, "ratio": 0.5},
            "concurrency": {"count": 10, "ratio": 0.33},
            "risk": {"count": 5, "ratio": 0.17},
            "throttle": {"count": 0, "ratio": 0.0},
        },
    },
    "symbols": {},
    "runtime": {"utc": "2025-10-12T12:00:00Z", "version": "0.1.0"},
}

SEED_KEYS = (
    "runtime_utc",
    "net_bps",
    "gross_bps",
    "adverse_bps",
    "slippage_bps",
    "neg_edge_drivers",
    "blocks",
    "kpi_verdict",
)
EXTRA_KEYS = (
    "kpi_reasons",
    "kpi_source",
    "adverse_bps_p95",
    "slippage_bps_p95",
    "order_age_p95_ms",
    "ws_lag_p95_ms",
    "p95_latency_ms",
    "cancel_ratio",
    "maker_share_pct",
    "sentinel_advice",
    "audit",
)


def test_formats_example_worked_case(write_artifacts):
    summary = summarize_iteration(write_artifacts(edge=FORMATS_EDGE_REPORT))

    expected = {
        "runtime_utc": "2025-10-12T12:00:00Z",
        "net_bps": -1.5,
        "gross_bps": 5.0,
        "fees_eff_bps": 2.0,
        "inventory_bps": 1.0,
        "adverse_bps": 2.0,
        "slippage_bps": 3.5,
        "adverse_bps_p95": 5.0,
        "slippage_bps_p95": 3.5,
        "order_age_p95_ms": 340,
        "ws_lag_p95_ms": 130,
        "p95_latency_ms": 250.0,
        "replace_ratio": 0.31,
        "cancel_ratio": 0.60,
        "maker_share_pct": 88.0,
        "neg_edge_drivers": ["slippage_bps", "adverse_bps"],
        "blocks": {
            "ratios": {"min_interval": 50.0, "concurrency": 33.0, "risk": 17.0, "throttle": 0.0},
            "source": "EDGE_REPORT.json",
        },
        "audit": None,
        "kpi_verdict": "FAIL",
        "kpi_reasons": [
            "EDGE:adverse",
            "EDGE:slippage",
            "EDGE:cancel_ratio",
            "EDGE:order_age",
            "EDGE:ws_lag",
            "EDGE:net_bps",
        ],
        "kpi_source": "computed",
        "sentinel_advice": [],
    }
    assert {key: summary[key] for key in expected} == expected


def test_seed_keys_and_real_fields_are_present(write_artifacts):
    summary = summarize_iteration(
        write_artifacts(
            edge=FORMATS_EDGE_REPORT,
            kpi={"verdict": "WARN", "reasons": []},
            audit_lines=[{"fields": {"allowed": 1}}],
        )
    )

    assert set(SEED_KEYS + EXTRA_KEYS) <= summary.keys()
    assert {"ratios", "source"} <= summary["blocks"].keys()
    assert {"lines", "truncated_last_line"} <= summary["audit"].keys()


def test_missing_fields_are_none_and_the_summary_still_works(write_artifacts):
    summary = summarize_iteration(write_artifacts(edge={"totals": {}}))

    assert summary["runtime_utc"] is None
    assert summary["net_bps"] is None
    assert summary["adverse_bps"] is None
    assert summary["neg_edge_drivers"] == []
    assert summary["blocks"] == {"ratios": {}, "source": None}
    assert (summary["kpi_verdict"], summary["kpi_reasons"]) == ("PASS", [])


@pytest.mark.parametrize(
    ("report", "expected_net"),
    [
        ({"totals": {"net_bps": 1.0}}, 1.0),
        ({"total": {"net_bps": 3.0}}, 3.0),
        ({"totals": {"net_bps": 1.0}, "total": {"net_bps": 3.0}}, 3.0),
        ({"total": {"net_bps": 3.0}, "totals": {"net_bps": 1.0}}, 3.0),
        ({"total": {}, "totals": {"net_bps": 1.0}}, None),
        ({"total": None, "totals": {"net_bps": 1.0}}, 1.0),
    ],
    ids=["totals", "total", "both-total-wins", "both-other-order", "total-empty-wins", "null"],
)
def test_total_wins_over_totals(write_artifacts, report, expected_net):
    assert summarize_iteration(write_artifacts(edge=report))["net_bps"] == expected_net


@pytest.mark.parametrize(
    "report", [{}, {"symbols": {}}, {"net_bps": -50.0}, {"total": None, "totals": None}]
)
def test_a_report_without_its_metrics_block_is_an_error(write_artifacts, report):
    directory = write_artifacts(edge=report)
    with pytest.raises(SoakwatchError) as raised:
        summarize_iteration(directory)
    assert str(raised.value) == (
        f"{directory / 'EDGE_REPORT.json'}: no 'totals' object (or 'total'): the metrics go there"
    )


def test_older_flat_total_layout(write_artifacts):
    report = {
        "total": {
            "net_bps": 2.8,
            "gross_bps": 9.0,
            "fees_eff_bps": 2.0,
            "adverse_bps": 1.7,
            "slippage_bps": 2.5,
            "inventory_bps": 0.5,
            "fills": 120,
            "turnover_usd": 15000.0,
        },
        "symbols": {"BTCUSDT": {"net_bps": 2.8}},
    }

    summary = summarize_iteration(write_artifacts(edge=report))

    assert (summary["net_bps"], summary["gross_bps"]) == (2.8, 9.0)
    assert (summary["adverse_bps"], summary["slippage_bps"]) == (1.7, 2.5)
    assert summary["neg_edge_drivers"] == []


@pytest.mark.parametrize(
    "totals",
    [
        {"adverse_bps": 12.0, "slippage_bps": 3.5},
        {"component_breakdown": {"adverse_bps": 12.0, "slippage_bps": 3.5}},
        {"adverse_bps": 12.0, "component_breakdown": {"slippage_bps": 3.5}},
    ],
    ids=["flat", "component-breakdown", "mixed"],
)
def test_means_flat_or_in_component_breakdown(write_artifacts, totals):
    summary = summarize_iteration(write_artifacts(edge={"totals": totals}))

    assert (summary["adverse_bps"], summary["slippage_bps"]) == (12.0, 3.5)


def test_p95_is_not_taken_as_the_mean(write_artifacts):
    report = {"totals": {"adverse_bps_p95": 7.0, "slippage_bps_p95": 4.0}}

    summary = summarize_iteration(write_artifacts(edge=report))

    assert (summary["adverse_bps"], summary["slippage_bps"]) == (None, None)
    assert (summary["adverse_bps_p95"], summary["slippage_bps_p95"]) == (7.0, 4.0)


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ({"net_bps": 1.0, "neg_edge_drivers": ["adverse_bps"]}, ["adverse_bps"]),
        (
            {"net_bps": -3.0, "slippage_bps": 9.0, "neg_edge_drivers": []},
            [],
        ),
        (
            {"net_bps": -1.0, "fees_eff_bps": 9.0, "neg_edge_drivers": ["inventory_bps"]},
            ["inventory_bps"],
        ),
    ],
    ids=["positive-net", "empty-list-kept", "file-beats-rule"],
)
def test_drivers_from_the_file_are_used_as_written(write_artifacts, totals, expected):
    assert (
        summarize_iteration(write_artifacts(edge={"totals": totals}))["neg_edge_drivers"]
        == expected
    )


COSTS = ("fees_eff_bps", "slippage_bps", "adverse_bps", "inventory_bps")


@pytest.mark.parametrize(
    ("net", "costs", "expected"),
    [
        (2.5, (2.0, 3.5, 2.0, 1.0), []),
        (0.0, (2.0, 3.5, 2.0, 1.0), []),
        (-1.5, (2.0, 3.5, 2.0, 1.0), ["slippage_bps", "fees_eff_bps"]),
        (-0.01, (1.0, 2.0, 3.0, 4.0), ["inventory_bps", "adverse_bps"]),
        (-1.0, (2.0, 2.0, 2.0, 2.0), ["fees_eff_bps", "slippage_bps"]),
        (-1.0, (1.0, 3.0, 3.0, 3.0), ["slippage_bps", "adverse_bps"]),
        (-1.0, (1.0, 2.0, 3.0, -5.0), ["inventory_bps", "adverse_bps"]),
        (-1.0, (1.0, -3.0, 3.0, 0.0), ["slippage_bps", "adverse_bps"]),
        (-1.0, (None, 4.0, None, None), ["slippage_bps"]),
        (-1.0, (None, None, None, None), []),
        (None, (2.0, 3.5, 2.0, 1.0), []),
    ],
    ids=[
        "net-positive",
        "net-zero",
        "formats-example",
        "largest-two",
        "tie-all-four",
        "tie-later-three",
        "absolute-value",
        "tie-negative-positive",
        "only-one-cost",
        "no-costs",
        "no-net",
    ],
)
def test_drivers_derived_by_the_formats_rule(write_artifacts, net, costs, expected):
    totals = {key: value for key, value in zip(COSTS, costs, strict=True) if value is not None}
    if net is not None:
        totals["net_bps"] = net

    summary = summarize_iteration(write_artifacts(edge={"totals": totals}))

    assert summary["neg_edge_drivers"] == expected


def test_drivers_derived_from_component_breakdown(write_artifacts):
    report = {
        "totals": {"component_breakdown": FORMATS_EDGE_REPORT["totals"]["component_breakdown"]}
    }

    summary = summarize_iteration(write_artifacts(edge=report))

    assert summary["neg_edge_drivers"] == ["slippage_bps", "fees_eff_bps"]


@pytest.mark.parametrize(
    ("ratio", "percent"),
    [
        (0.5, 50.0),
        (0.33, 33.0),
        (0.125, 12.5),
        (0.0, 0.0),
        (1.0, 100.0),
        (1.5, 1.5),
        (15, 15.0),
        (12.34, 12.3),
        (73.0, 73.0),
    ],
)
def test_edge_block_ratios_normalized_to_percent(write_artifacts, ratio, percent):
    report = {"totals": {"block_reasons": {"min_interval": {"count": 1, "ratio": ratio}}}}

    blocks = summarize_iteration(write_artifacts(edge=report))["blocks"]

    assert blocks == {"ratios": {"min_interval": percent}, "source": "EDGE_REPORT.json"}


def test_audit_jsonl_wins_over_edge_block_reasons(write_artifacts):
    directory = write_artifacts(
        edge=FORMATS_EDGE_REPORT,
        audit_lines=[
            {"fields": {"allowed": 0, "reason": "concurrency"}, "kind": "REPLACE"},
            {"fields": {"allowed": 1}, "kind": "PLACE"},
            {"fields": {"allowed": 1}, "kind": "PLACE"},
            {"fields": {"allowed": 1}, "kind": "PLACE"},
        ],
    )

    summary = summarize_iteration(directory)

    assert summary["blocks"]["source"] == "audit.jsonl"
    assert summary["blocks"]["ratios"] == {"concurrency": 25.0, "allowed": 75.0}
    assert summary["blocks"]["counts"] == {"concurrency": 1, "allowed": 3}
    assert summary["audit"] == {"lines": 4, "truncated_lines": 0, "truncated_last_line": False}


def test_seed_example_block_ratios_from_audit(write_artifacts):
    lines = (
        [{"fields": {"allowed": 0, "reason": "min_interval"}}] * 15
        + [{"reason": "concurrency"}] * 12
        + [{"fields": {"allowed": 1}}] * 73
    )

    summary = summarize_iteration(write_artifacts(audit_lines=lines))

    assert summary["blocks"]["ratios"] == {
        "min_interval": 15.0,
        "concurrency": 12.0,
        "allowed": 73.0,
    }


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        (
            {"verdict": "FAIL", "reasons": ["EDGE:net_bps", "EDGE:order_age"], "runtime": {}},
            ("FAIL", ["EDGE:net_bps", "EDGE:order_age"]),
        ),
        ({"verdict": "PASS", "reasons": []}, ("PASS", [])),
        ({"verdict": "WARN"}, ("WARN", [])),
        ({"verdict": "WARN", "reasons": ["EDGE", "LATENCY"]}, ("WARN", ["EDGE", "LATENCY"])),
    ],
    ids=["formats-example", "pass", "no-reasons", "seed-bare-reasons"],
)
def test_kpi_from_kpi_gate_file(write_artifacts, kpi, expected):
    # The metrics would compute FAIL; the file's verdict is what counts.
    summary = summarize_iteration(write_artifacts(edge=FORMATS_EDGE_REPORT, kpi=kpi))

    assert (summary["kpi_verdict"], summary["kpi_reasons"]) == expected
    assert summary["kpi_source"] == "KPI_GATE.json"


@pytest.mark.parametrize(
    ("totals", "verdict", "reasons"),
    [
        ({"net_bps": 3.0, "maker_share_pct": 90.0}, "PASS", []),
        ({"net_bps": 3.0, "slippage_bps_p95": 3.5}, "WARN", ["EDGE:slippage"]),
        ({"net_bps": 2.4}, "FAIL", ["EDGE:net_bps"]),
        (
            {"maker_share_pct": 84.9, "ws_lag_p95_ms": 121},
            "FAIL",
            ["EDGE:ws_lag", "EDGE:maker_share"],
        ),
    ],
)
def test_kpi_computed_when_no_gate_file(write_artifacts, totals, verdict, reasons):
    summary = summarize_iteration(write_artifacts(edge={"totals": totals}))

    assert (summary["kpi_verdict"], summary["kpi_reasons"]) == (verdict, reasons)
    assert summary["kpi_source"] == "computed"


def test_kpi_computed_with_custom_thresholds(write_artifacts):
    thresholds = {"net_bps": Threshold("EDGE:net", warn=5.0, fail=1.0, higher_is_worse=False)}

    summary = summarize_iteration(write_artifacts(edge={"totals": {"net_bps": 3.0}}), thresholds)

    assert (summary["kpi_verdict"], summary["kpi_reasons"]) == ("WARN", ["EDGE:net"])


@pytest.mark.parametrize("sentinel", [{"advice": None}, {"runtime": {}}], ids=["null", "missing"])
def test_sentinel_without_advice_has_none(write_artifacts, sentinel):
    assert summarize_iteration(write_artifacts(sentinel=sentinel))["sentinel_advice"] == []


def test_sentinel_advice(write_artifacts):
    sentinel = {
        "advice": ["tune throttle: raise min_interval_ms", "widen spread on BTCUSDT"],
        "runtime": {"utc": "..."},
        "summary": {},
        "top": {},
    }

    summary = summarize_iteration(write_artifacts(sentinel=sentinel))

    assert summary["sentinel_advice"] == [
        "tune throttle: raise min_interval_ms",
        "widen spread on BTCUSDT",
    ]


def test_summarize_accepts_a_string_path(write_artifacts):
    directory = write_artifacts(edge={"totals": {"net_bps": 2.5}})

    assert summarize_iteration(str(directory))["net_bps"] == 2.5


def test_an_artifact_that_is_a_loop_of_links_is_not_a_file(write_artifacts):
    directory = write_artifacts(edge={"totals": {"net_bps": 1.0}})
    try:
        os.symlink("audit.jsonl", directory / "audit.jsonl")
    except OSError as exc:  # Windows without the privilege to make links
        pytest.skip(f"cannot make a symbolic link here: {exc}")
    with pytest.raises(SoakwatchError, match=r"audit\.jsonl: not a file$"):
        summarize_iteration(directory)


def test_an_artifacts_directory_that_is_a_loop_of_links_cannot_be_read(tmp_path):
    loop = tmp_path / "artifacts"
    try:
        os.symlink("artifacts", loop)
    except OSError as exc:  # Windows without the privilege to make links
        pytest.skip(f"cannot make a symbolic link here: {exc}")
    with pytest.raises(SoakwatchError) as excinfo:
        summarize_iteration(loop)
    message = str(excinfo.value)
    assert message.startswith(f"{loop}: cannot read (")
    assert "\n" not in message
