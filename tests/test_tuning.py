"""Driver-aware micro-tuning: the seed's four rules, their boundaries, and applying deltas."""

from __future__ import annotations

import copy
import decimal
import json

import pytest

from pytest_soakwatch import (
    DEFAULT_BOUNDS,
    DEFAULT_RULES,
    SoakwatchError,
    TuningRules,
    apply_tuning,
    default_overrides,
    load_overrides,
    propose_micro_tuning,
    validate_overrides,
)

SLIPPAGE_PART = "slippage_bps=3.50 (driver) → widen spread +0.02, tail +30ms"
SLIPPAGE_DELTAS = {"base_spread_bps_delta": 0.02, "tail_age_ms": 30}
ADVERSE_DELTAS = {"impact_cap_ratio": -0.01, "max_delta_ratio": -0.01}


def summary(
    drivers=(),
    slippage=3.5,
    adverse=None,
    adverse_p95=None,
    min_interval=None,
    concurrency=None,
    net=2.5,
):
    ratios = {}
    if min_interval is not None:
        ratios["min_interval"] = min_interval
    if concurrency is not None:
        ratios["concurrency"] = concurrency
    ratios["allowed"] = 50.0
    return {
        "net_bps": net,
        "slippage_bps": slippage,
        "adverse_bps": adverse,
        "adverse_bps_p95": adverse_p95,
        "neg_edge_drivers": list(drivers),
        "blocks": {"ratios": ratios, "source": "audit.jsonl"},
        "kpi_verdict": "WARN",
    }


# (id, summary, deltas, rationale); None rationale means "No micro-adjustments needed".
RULE_CASES = [
    ("slippage-driver", summary(drivers=["slippage_bps"]), SLIPPAGE_DELTAS, SLIPPAGE_PART),
    (
        "slippage-driver-second",
        summary(drivers=["adverse_bps", "slippage_bps"], slippage=1.0),
        SLIPPAGE_DELTAS,
        "slippage_bps=1.00 (driver) → widen spread +0.02, tail +30ms",
    ),
    ("slippage-not-driver", summary(drivers=["adverse_bps"], slippage=9.0), {}, None),
    ("no-drivers", summary(drivers=[]), {}, None),
    ("adverse-at-limit", summary(adverse=10.0), {}, None),
    (
        "adverse-past-limit",
        summary(adverse=10.01),
        ADVERSE_DELTAS,
        "adverse_bps=10.01 > 10 → impact_cap -0.01, max_delta -0.01",
    ),
    (
        "adverse-seed-example",
        summary(adverse=12.0),
        ADVERSE_DELTAS,
        "adverse_bps=12.00 > 10 → impact_cap -0.01, max_delta -0.01",
    ),
    ("adverse-mean-beats-p95", summary(adverse=5.0, adverse_p95=12.0), {}, None),
    (
        "adverse-p95-without-mean",
        summary(adverse=None, adverse_p95=12.0),
        ADVERSE_DELTAS,
        "adverse_bps_p95=12.00 > 10 → impact_cap -0.01, max_delta -0.01",
    ),
    ("adverse-p95-at-limit", summary(adverse=None, adverse_p95=10.0), {}, None),
    ("min-interval-at-limit", summary(min_interval=35.0), {}, None),
    (
        "min-interval-past-limit",
        summary(min_interval=35.1),
        {"min_interval_ms": 10},
        "min_interval blocks=35.1% > 35% → min_interval +10ms",
    ),
    ("concurrency-at-limit", summary(concurrency=30.0), {}, None),
    (
        "concurrency-past-limit",
        summary(concurrency=30.1),
        {"replace_rate_per_min": -30},
        "concurrency blocks=30.1% > 30% → replace_rate -30/min",
    ),
    ("seed-example-blocks", summary(min_interval=15.0, concurrency=12.0), {}, None),
    (
        "all-four",
        summary(drivers=["slippage_bps"], adverse=12.0, min_interval=50.0, concurrency=33.0),
        {
            **SLIPPAGE_DELTAS,
            **ADVERSE_DELTAS,
            "min_interval_ms": 10,
            "replace_rate_per_min": -30,
        },
        " | ".join(
            [
                SLIPPAGE_PART,
                "adverse_bps=12.00 > 10 → impact_cap -0.01, max_delta -0.01",
                "min_interval blocks=50.0% > 35% → min_interval +10ms",
                "concurrency blocks=33.0% > 30% → replace_rate -30/min",
            ]
        ),
    ),
    (
        "slippage-and-min-interval",
        summary(drivers=["slippage_bps"], min_interval=40.0),
        {**SLIPPAGE_DELTAS, "min_interval_ms": 10},
        SLIPPAGE_PART + " | min_interval blocks=40.0% > 35% → min_interval +10ms",
    ),
]


@pytest.mark.parametrize(
    ("summary_", "deltas", "rationale"),
    [c[1:] for c in RULE_CASES],
    ids=[c[0] for c in RULE_CASES],
)
def test_rules_and_boundaries(summary_, deltas, rationale):
    tuning = propose_micro_tuning(summary_, default_overrides())

    assert tuning["deltas"] == deltas
    assert tuning["rationale"] == (rationale or "No micro-adjustments needed")
    assert tuning["applied"] is False


def test_rationale_parts_in_rule_order():
    tuning = propose_micro_tuning(
        summary(drivers=["slippage_bps"], concurrency=31.0, min_interval=36.0), {}
    )

    assert tuning["rationale"].split(" | ") == [
        SLIPPAGE_PART,
        "min_interval blocks=36.0% > 35% → min_interval +10ms",
        "concurrency blocks=31.0% > 30% → replace_rate -30/min",
    ]


def test_no_rule_gives_the_seed_output():
    tuning = propose_micro_tuning(summary(), default_overrides())

    assert {key: tuning[key] for key in ("deltas", "rationale", "applied")} == {
        "deltas": {},
        "rationale": "No micro-adjustments needed",
        "applied": False,
    }


def test_conditions_carry_the_seed_fields():
    tuning = propose_micro_tuning(summary(drivers=["slippage_bps"], min_interval=15.0), {})

    assert {
        key: tuning["conditions"][key] for key in ("net_bps", "slippage_bps", "min_interval_pct")
    } == {
        "net_bps": 2.5,
        "slippage_bps": 3.5,
        "min_interval_pct": 15.0,
    }


def test_slippage_p95_shown_when_no_mean():
    tuning = propose_micro_tuning(
        {**summary(drivers=["slippage_bps"], slippage=None), "slippage_bps_p95": 4.25}, {}
    )

    assert tuning["rationale"] == "slippage_bps_p95=4.25 (driver) → widen spread +0.02, tail +30ms"


def test_works_on_a_bare_summary():
    assert propose_micro_tuning({}, None)["deltas"] == {}


def test_summary_and_overrides_are_not_mutated():
    given = summary(drivers=["slippage_bps"], adverse=12.0, min_interval=50.0)
    overrides = default_overrides()
    before = (copy.deepcopy(given), dict(overrides))

    propose_micro_tuning(given, overrides)

    assert (given, overrides) == before


def test_default_rules_are_the_seed_values():
    seed = TuningRules(
        spread_step=0.02,
        tail_age_step_ms=30,
        adverse_limit_bps=10.0,
        impact_cap_step=-0.01,
        max_delta_step=-0.01,
        min_interval_block_pct=35.0,
        min_interval_step_ms=10,
        concurrency_block_pct=30.0,
        replace_rate_step=-30,
    )
    assert seed == DEFAULT_RULES


@pytest.mark.parametrize(
    ("rules", "summary_", "deltas", "rationale"),
    [
        (
            TuningRules(spread_step=0.03, tail_age_step_ms=50),
            summary(drivers=["slippage_bps"]),
            {"base_spread_bps_delta": 0.03, "tail_age_ms": 50},
            "slippage_bps=3.50 (driver) → widen spread +0.03, tail +50ms",
        ),
        (
            TuningRules(min_interval_block_pct=20.0, min_interval_step_ms=5),
            summary(min_interval=20.5),
            {"min_interval_ms": 5},
            "min_interval blocks=20.5% > 20% → min_interval +5ms",
        ),
        (TuningRules(min_interval_block_pct=40.0), summary(min_interval=39.0), {}, None),
        (
            TuningRules(adverse_limit_bps=4.5, impact_cap_step=-0.02, max_delta_step=-0.03),
            summary(adverse=5.0),
            {"impact_cap_ratio": -0.02, "max_delta_ratio": -0.03},
            "adverse_bps=5.00 > 4.5 → impact_cap -0.02, max_delta -0.03",
        ),
        (
            TuningRules(concurrency_block_pct=10.0, replace_rate_step=-20),
            summary(concurrency=12.0),
            {"replace_rate_per_min": -20},
            "concurrency blocks=12.0% > 10% → replace_rate -20/min",
        ),
    ],
    ids=["spread-step", "min-interval-limit", "min-interval-not-past", "adverse", "concurrency"],
)
def test_custom_rules(rules, summary_, deltas, rationale):
    tuning = propose_micro_tuning(summary_, {}, rules)

    assert tuning["deltas"] == deltas
    assert tuning["rationale"] == (rationale or "No micro-adjustments needed")


# --- apply_tuning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "base", "delta", "expected"),
    [
        ("base_spread_bps_delta", 0.14, 0.02, 0.16),
        ("base_spread_bps_delta", 0.1, 0.02, 0.12),
        ("base_spread_bps_delta", 0.2, 0.03, 0.23),
        ("impact_cap_ratio", 0.09, -0.01, 0.08),
        ("impact_cap_ratio", 0.11, -0.01, 0.1),
        ("max_delta_ratio", 0.14, -0.01, 0.13),
        ("max_delta_ratio", 0.15, -0.01, 0.14),
        ("min_interval_ms", 65, 10, 75),
        ("replace_rate_per_min", 280, -30, 250),
        ("tail_age_ms", 620, 30, 650),
    ],
)
def test_apply_is_exact_decimal(key, base, delta, expected):
    result = apply_tuning({key: base}, {key: delta})

    value = result["overrides"][key]
    assert value == expected
    assert type(value) is type(expected)  # ints stay int
    assert json.dumps(value) == repr(expected)
    assert result["clamped"] == []


def test_apply_seed_defaults_text_has_no_float_noise():
    result = apply_tuning(default_overrides(), {"base_spread_bps_delta": 0.02, "tail_age_ms": 30})

    text = json.dumps(result["overrides"], sort_keys=True)
    assert '"base_spread_bps_delta": 0.16' in text
    assert "0.16000000000000003" not in text
    assert '"tail_age_ms": 650' in text


@pytest.mark.parametrize(
    ("key", "base", "delta", "expected", "clamped"),
    [
        ("base_spread_bps_delta", 0.24, 0.02, 0.25, True),
        ("base_spread_bps_delta", 0.23, 0.02, 0.25, False),
        ("impact_cap_ratio", 0.08, -0.01, 0.08, True),
        ("impact_cap_ratio", 0.09, -0.01, 0.08, False),
        ("max_delta_ratio", 0.10, -0.01, 0.10, True),
        ("max_delta_ratio", 0.16, 0.01, 0.16, True),
        ("min_interval_ms", 75, 10, 80, True),
        ("min_interval_ms", 70, 10, 80, False),
        ("replace_rate_per_min", 210, -30, 200, True),
        ("replace_rate_per_min", 230, -30, 200, False),
        ("tail_age_ms", 790, 30, 800, True),
        ("tail_age_ms", 500, -30, 500, True),
    ],
)
def test_apply_clamps_to_default_bounds(key, base, delta, expected, clamped):
    result = apply_tuning({key: base}, {key: delta})

    assert result["overrides"][key] == expected
    assert result["clamped"] == ([key] if clamped else [])


def test_apply_lists_every_clamped_key_sorted():
    overrides = {**default_overrides(), "tail_age_ms": 790, "base_spread_bps_delta": 0.25}
    deltas = {"tail_age_ms": 30, "base_spread_bps_delta": 0.02, "min_interval_ms": 10}

    result = apply_tuning(overrides, deltas)

    assert result["clamped"] == ["base_spread_bps_delta", "tail_age_ms"]
    assert result["overrides"] == {
        "base_spread_bps_delta": 0.25,
        "impact_cap_ratio": 0.09,
        "max_delta_ratio": 0.14,
        "min_interval_ms": 75,
        "replace_rate_per_min": 280,
        "tail_age_ms": 800,
    }


def test_apply_all_four_rules_to_the_seed_defaults():
    tuning = propose_micro_tuning(
        summary(drivers=["slippage_bps"], adverse=12.0, min_interval=50.0, concurrency=33.0), {}
    )

    result = apply_tuning(default_overrides(), tuning["deltas"])

    assert result == {
        "overrides": {
            "base_spread_bps_delta": 0.16,
            "impact_cap_ratio": 0.08,
            "max_delta_ratio": 0.13,
            "min_interval_ms": 75,
            "replace_rate_per_min": 250,
            "tail_age_ms": 650,
        },
        "clamped": [],
    }


def test_apply_does_not_mutate_its_inputs():
    overrides = default_overrides()
    deltas = {"base_spread_bps_delta": 0.02, "tail_age_ms": 300}
    before = (dict(overrides), dict(deltas))

    result = apply_tuning(overrides, deltas)

    assert (overrides, deltas) == before
    assert result["overrides"] is not overrides


def test_apply_keeps_keys_without_delta():
    result = apply_tuning({"min_interval_ms": 65, "tail_age_ms": 620}, {"tail_age_ms": 30})

    assert result["overrides"] == {"min_interval_ms": 65, "tail_age_ms": 650}


def test_apply_delta_for_absent_key_starts_from_shipped_default():
    assert apply_tuning({}, {"tail_age_ms": 30})["overrides"] == {"tail_age_ms": 650}


@pytest.mark.parametrize(
    ("bounds", "expected", "clamped"),
    [
        (
            {"tail_age_ms": (600, 640)},
            {"tail_age_ms": 640, "base_spread_bps_delta": 0.26},
            ["tail_age_ms"],
        ),
        (
            {"tail_age_ms": (0, 10_000), "base_spread_bps_delta": (0.0, 0.2)},
            {"tail_age_ms": 650, "base_spread_bps_delta": 0.2},
            ["base_spread_bps_delta"],
        ),
        ({}, {"tail_age_ms": 650, "base_spread_bps_delta": 0.26}, []),
    ],
    ids=["tail-only", "both", "none"],
)
def test_apply_with_custom_bounds(bounds, expected, clamped):
    result = apply_tuning(
        {"tail_age_ms": 620, "base_spread_bps_delta": 0.24},
        {"tail_age_ms": 30, "base_spread_bps_delta": 0.02},
        bounds,
    )

    assert result == {"overrides": expected, "clamped": clamped}


def test_default_bounds_are_the_formats_table():
    assert dict(DEFAULT_BOUNDS) == {
        "base_spread_bps_delta": (0.08, 0.25),
        "impact_cap_ratio": (0.08, 0.12),
        "max_delta_ratio": (0.10, 0.16),
        "min_interval_ms": (40, 80),
        "replace_rate_per_min": (200, 320),
        "tail_age_ms": (500, 800),
    }


# --- values from a caller's own code --------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: apply_tuning({}, {"base_spread_bps_delta": NAN}),
            "deltas base_spread_bps_delta: expected a finite number, got nan",
        ),
        (
            lambda: apply_tuning({}, {"base_spread_bps_delta": "0.02"}),
            "deltas base_spread_bps_delta: expected a number, got '0.02'",
        ),
        (
            lambda: apply_tuning({}, {"tail_age_ms": True}),
            "deltas tail_age_ms: expected a number, got True",
        ),
        (
            lambda: apply_tuning({"tail_age_ms": None}, {"tail_age_ms": 30}),
            "overrides tail_age_ms: expected a number, got None",
        ),
        (lambda: apply_tuning({}, None), "deltas: expected a mapping, got NoneType"),
        (
            lambda: apply_tuning({}, {"tail_age_ms": 30}, {"tail_age_ms": (800, 500)}),
            "bounds tail_age_ms: min 800 is above max 500",
        ),
        (
            lambda: apply_tuning({}, {"tail_age_ms": 30}, {"tail_age_ms": (500,)}),
            "bounds tail_age_ms: expected (min, max), got (500,)",
        ),
        (
            lambda: apply_tuning({}, {"tail_age_ms": 30}, {"tail_age_ms": (NAN, 800)}),
            "bounds tail_age_ms min: expected a finite number, got nan",
        ),
        (lambda: propose_micro_tuning(None), "summary: expected a mapping, got NoneType"),
        (
            lambda: propose_micro_tuning({"adverse_bps": NAN, "adverse_bps_p95": 50.0}),
            "summary adverse_bps: expected a finite number, got nan",
        ),
        (
            lambda: propose_micro_tuning({"adverse_bps": 10**400}),
            "summary adverse_bps: number too large",
        ),
        (
            lambda: propose_micro_tuning({"neg_edge_drivers": "not_slippage_bps_at_all"}),
            "summary neg_edge_drivers: expected a list of names, got 'not_slippage_bps_at_all'",
        ),
        (
            lambda: propose_micro_tuning({"blocks": {"ratios": {"min_interval": "50"}}}),
            "summary ratio min_interval: expected a number, got '50'",
        ),
        (
            lambda: propose_micro_tuning({"blocks": "x"}),
            "summary blocks: expected a mapping, got str",
        ),
        (
            lambda: TuningRules(spread_step=True),
            "tuning rule spread_step: expected a number, got True",
        ),
        (
            lambda: TuningRules(adverse_limit_bps=NAN),
            "tuning rule adverse_limit_bps: expected a finite number, got nan",
        ),
        (lambda: propose_micro_tuning({}, rules=None), "rules: expected TuningRules, got None"),
        (
            lambda: apply_tuning({"x": 1.7e308}, {"x": 1.7e308}, {}),
            "overrides x: 1.7e+308 + 1.7e+308 is too large",
        ),
        (
            lambda: validate_overrides({"tail_age_ms": 620}, "f", {"tail_age_ms": (NAN, 900)}),
            "bounds tail_age_ms min: expected a finite number, got nan",
        ),
        (
            lambda: validate_overrides({"tail_age_ms": 620}, "f", {"tail_age_ms": (800, 500)}),
            "bounds tail_age_ms: min 800 is above max 500",
        ),
        (lambda: validate_overrides(None, "f"), "f: expected a mapping, got NoneType"),
        (lambda: load_overrides(env=["x"]), "env: expected a mapping, got list"),
    ],
)
def test_a_value_that_would_give_a_quiet_wrong_result_is_refused(call, message):
    with pytest.raises(SoakwatchError) as raised:
        call()
    assert str(raised.value) == message


def test_sums_do_not_depend_on_the_callers_decimal_context():
    with decimal.localcontext() as context:
        context.prec = 1
        context.traps[decimal.Inexact] = True
        applied = apply_tuning({"base_spread_bps_delta": 0.14}, {"base_spread_bps_delta": 0.02})
        assert applied["overrides"]["base_spread_bps_delta"] == 0.16
        assert apply_tuning({"tail_age_ms": 620.5}, {"tail_age_ms": 30})["overrides"] == {
            "tail_age_ms": 650.5
        }
