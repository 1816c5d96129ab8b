"""The KPI verdict: FORMATS.md's thresholds (exclusive limits) turned into PASS/WARN/FAIL."""

from __future__ import annotations

import pytest

from pytest_soakwatch import DEFAULT_THRESHOLDS, Threshold, evaluate_kpi

# (metric, value, verdict, reasons) around each WARN and FAIL limit; limits are exclusive.
BOUNDARIES = [
    ("adverse_bps_p95", 4.0, "PASS", []),
    ("adverse_bps_p95", 4.01, "WARN", ["EDGE:adverse"]),
    ("adverse_bps_p95", 6.0, "WARN", ["EDGE:adverse"]),
    ("adverse_bps_p95", 6.01, "FAIL", ["EDGE:adverse"]),
    ("slippage_bps_p95", 3.0, "PASS", []),
    ("slippage_bps_p95", 3.5, "WARN", ["EDGE:slippage"]),
    ("slippage_bps_p95", 5.0, "WARN", ["EDGE:slippage"]),
    ("slippage_bps_p95", 5.1, "FAIL", ["EDGE:slippage"]),
    ("cancel_ratio", 0.55, "PASS", []),
    ("cancel_ratio", 0.56, "WARN", ["EDGE:cancel_ratio"]),
    ("cancel_ratio", 0.70, "WARN", ["EDGE:cancel_ratio"]),
    ("cancel_ratio", 0.71, "FAIL", ["EDGE:cancel_ratio"]),
    ("order_age_p95_ms", 330, "PASS", []),
    ("order_age_p95_ms", 331, "WARN", ["EDGE:order_age"]),
    ("order_age_p95_ms", 360, "WARN", ["EDGE:order_age"]),
    ("order_age_p95_ms", 361, "FAIL", ["EDGE:order_age"]),
    ("ws_lag_p95_ms", 120, "PASS", []),
    ("ws_lag_p95_ms", 120.5, "WARN", ["EDGE:ws_lag"]),
    ("ws_lag_p95_ms", 180, "WARN", ["EDGE:ws_lag"]),
    ("ws_lag_p95_ms", 181, "FAIL", ["EDGE:ws_lag"]),
    ("net_bps", 2.5, "PASS", []),
    ("net_bps", 2.49, "FAIL", ["EDGE:net_bps"]),
    ("net_bps", -1.5, "FAIL", ["EDGE:net_bps"]),
    ("net_bps", 100.0, "PASS", []),
    ("maker_share_pct", 85.0, "PASS", []),
    ("maker_share_pct", 84.99, "FAIL", ["EDGE:maker_share"]),
    ("maker_share_pct", 100.0, "PASS", []),
    ("adverse_bps_p95", 0.0, "PASS", []),
    ("cancel_ratio", 0.0, "PASS", []),
]


@pytest.mark.parametrize(("metric", "value", "verdict", "reasons"), BOUNDARIES)
def test_each_limit_and_its_boundary(metric, value, verdict, reasons):
    assert evaluate_kpi({metric: value}) == (verdict, reasons)


def test_default_thresholds_are_the_formats_table():
    table = {
        metric: (t.reason, t.warn, t.fail, t.higher_is_worse)
        for metric, t in DEFAULT_THRESHOLDS.items()
    }

    assert table == {
        "adverse_bps_p95": ("EDGE:adverse", 4.0, 6.0, True),
        "slippage_bps_p95": ("EDGE:slippage", 3.0, 5.0, True),
        "cancel_ratio": ("EDGE:cancel_ratio", 0.55, 0.70, True),
        "order_age_p95_ms": ("EDGE:order_age", 330.0, 360.0, True),
        "ws_lag_p95_ms": ("EDGE:ws_lag", 120.0, 180.0, True),
        "net_bps": ("EDGE:net_bps", None, 2.5, False),
        "maker_share_pct": ("EDGE:maker_share", None, 85.0, False),
    }


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"net_bps": None, "maker_share_pct": None, "adverse_bps_p95": None},
        {"adverse_bps": 50.0, "slippage_bps": 50.0, "gross_bps": -10.0},
    ],
    ids=["empty", "all-none", "only-unjudged-metrics"],
)
def test_missing_metrics_are_not_judged(metrics):
    assert evaluate_kpi(metrics) == ("PASS", [])


@pytest.mark.parametrize(
    ("metrics", "verdict", "reasons"),
    [
        (
            {"maker_share_pct": 80.0, "ws_lag_p95_ms": 130, "adverse_bps_p95": 5.0},
            "FAIL",
            ["EDGE:adverse", "EDGE:ws_lag", "EDGE:maker_share"],
        ),
        (
            {"net_bps": 3.0, "cancel_ratio": 0.6, "slippage_bps_p95": 3.2},
            "WARN",
            ["EDGE:slippage", "EDGE:cancel_ratio"],
        ),
        (
            {
                "adverse_bps_p95": 5.0,
                "slippage_bps_p95": 3.5,
                "cancel_ratio": 0.60,
                "order_age_p95_ms": 340,
                "ws_lag_p95_ms": 130,
                "net_bps": -1.5,
                "maker_share_pct": 88.0,
            },
            "FAIL",
            [
                "EDGE:adverse",
                "EDGE:slippage",
                "EDGE:cancel_ratio",
                "EDGE:order_age",
                "EDGE:ws_lag",
                "EDGE:net_bps",
            ],
        ),
        (
            {"net_bps": 3.0, "maker_share_pct": 90.0, "cancel_ratio": 0.5, "ws_lag_p95_ms": 100},
            "PASS",
            [],
        ),
    ],
    ids=["worst-wins", "warns-only", "formats-example", "all-good"],
)
def test_worst_level_wins_and_reasons_in_threshold_order(metrics, verdict, reasons):
    assert evaluate_kpi(metrics) == (verdict, reasons)


@pytest.mark.parametrize(
    ("threshold", "value", "level"),
    [
        (Threshold("R", 1.0, 2.0), 1.0, "PASS"),
        (Threshold("R", 1.0, 2.0), 1.5, "WARN"),
        (Threshold("R", 1.0, 2.0), 2.0, "WARN"),
        (Threshold("R", 1.0, 2.0), 2.5, "FAIL"),
        (Threshold("R", None, 2.0), 1.9, "PASS"),
        (Threshold("R", None, 2.0), 2.1, "FAIL"),
        (Threshold("R", 1.0, None), 9.0, "WARN"),
        (Threshold("R", None, None), 9.0, "PASS"),
        (Threshold("R", 10.0, 5.0, higher_is_worse=False), 10.0, "PASS"),
        (Threshold("R", 10.0, 5.0, higher_is_worse=False), 9.0, "WARN"),
        (Threshold("R", 10.0, 5.0, higher_is_worse=False), 5.0, "WARN"),
        (Threshold("R", 10.0, 5.0, higher_is_worse=False), 4.0, "FAIL"),
    ],
)
def test_threshold_level(threshold, value, level):
    assert threshold.level(value) == level


def test_custom_thresholds_replace_the_defaults():
    thresholds = {
        "p95_latency_ms": Threshold("LATENCY", 200.0, 300.0),
        "net_bps": Threshold("EDGE", 5.0, 1.0, higher_is_worse=False),
    }
    # adverse_bps_p95 would FAIL by the defaults; it is not in the custom table.
    metrics = {"p95_latency_ms": 250.0, "net_bps": 4.0, "adverse_bps_p95": 99.0}

    assert evaluate_kpi(metrics, thresholds) == ("WARN", ["LATENCY", "EDGE"])


def test_a_nan_metric_or_limit_is_refused_not_passed():
    from pytest_soakwatch import SoakwatchError

    with pytest.raises(
        SoakwatchError, match=r"^metric net_bps: expected a finite number, got nan$"
    ):
        evaluate_kpi({"net_bps": float("nan")})
    with pytest.raises(SoakwatchError, match=r"^threshold EDGE:x warn: expected a finite number"):
        Threshold("EDGE:x", float("nan"), None)
    with pytest.raises(SoakwatchError, match=r"^thresholds net_bps: expected a Threshold, got 5$"):
        evaluate_kpi({"net_bps": 1.0}, {"net_bps": 5})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Threshold("EDGE:x", 6.0, 4.0), "threshold EDGE:x: warn 6.0 is above fail 4.0"),
        (
            lambda: Threshold("EDGE:y", 2.0, 3.0, higher_is_worse=False),
            "threshold EDGE:y: warn 2.0 is below fail 3.0",
        ),
        (
            lambda: Threshold(None, 1.0, 2.0),  # type: ignore[arg-type]
            "threshold reason: expected text, got None",
        ),
        (
            lambda: Threshold("EDGE:z", 1.0, 2.0, higher_is_worse="no"),  # type: ignore[arg-type]
            "threshold EDGE:z higher_is_worse: expected a bool, got 'no'",
        ),
        (lambda: evaluate_kpi({}, [1]), "thresholds: expected a mapping, got list"),  # type: ignore[arg-type]
        (lambda: evaluate_kpi(None), "metrics: expected a mapping, got NoneType"),  # type: ignore[arg-type]
    ],
)
def test_odd_thresholds_and_metrics_are_refused(make, message):
    from pytest_soakwatch import SoakwatchError

    with pytest.raises(SoakwatchError) as raised:
        make()
    assert str(raised.value) == message
