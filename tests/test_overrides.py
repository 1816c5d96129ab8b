"""Runtime overrides: shipped defaults, a user's file, MM_RUNTIME_OVERRIDES_JSON; validated."""

from __future__ import annotations

import json
import re

import pytest

from pytest_soakwatch import (
    DEFAULT_BOUNDS,
    SoakwatchError,
    default_overrides,
    load_overrides,
    validate_overrides,
)
from pytest_soakwatch.overrides import ENV_VAR

SEED_DEFAULTS = {
    "base_spread_bps_delta": 0.14,
    "impact_cap_ratio": 0.09,
    "max_delta_ratio": 0.14,
    "min_interval_ms": 65,
    "replace_rate_per_min": 280,
    "tail_age_ms": 620,
}


def test_env_var_name():
    assert ENV_VAR == "MM_RUNTIME_OVERRIDES_JSON"


def test_shipped_defaults_are_the_seeds():
    assert default_overrides() == SEED_DEFAULTS
    loaded = load_overrides(env={})
    assert dict(loaded.values) == SEED_DEFAULTS
    assert set(loaded.sources) == set(SEED_DEFAULTS)


def test_default_overrides_is_a_fresh_copy():
    first = default_overrides()
    first["tail_age_ms"] = 1

    assert default_overrides()["tail_age_ms"] == 620


@pytest.mark.parametrize("raw", ["", "   ", "\n\t "], ids=["empty", "spaces", "whitespace"])
def test_empty_env_means_unset(raw):
    loaded = load_overrides(env={ENV_VAR: raw})

    assert dict(loaded.values) == SEED_DEFAULTS
    assert ENV_VAR not in loaded.sources.values()


def test_env_merges_key_by_key():
    loaded = load_overrides(env={ENV_VAR: '{"tail_age_ms": 700, "min_interval_ms": 50}'})

    assert dict(loaded.values) == {**SEED_DEFAULTS, "tail_age_ms": 700, "min_interval_ms": 50}
    assert loaded.sources["tail_age_ms"] == ENV_VAR
    assert loaded.sources["min_interval_ms"] == ENV_VAR
    assert loaded.sources["base_spread_bps_delta"] != ENV_VAR
    assert "default" in loaded.sources["base_spread_bps_delta"]


def test_env_taken_from_os_environ_by_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '{"replace_rate_per_min": 300}')

    loaded = load_overrides()

    assert loaded.values["replace_rate_per_min"] == 300
    assert loaded.sources["replace_rate_per_min"] == ENV_VAR


@pytest.mark.parametrize("raw", ['  {"tail_age_ms": 510}\n', '\ufeff{"tail_age_ms": 510}'])
def test_env_with_surrounding_whitespace_or_bom(raw):
    assert load_overrides(env={ENV_VAR: raw}).values["tail_age_ms"] == 510


def test_user_file_replaces_the_shipped_defaults(tmp_path):
    path = tmp_path / "my_overrides.json"
    path.write_text('{"tail_age_ms": 700, "min_interval_ms": 45}', encoding="utf-8")

    loaded = load_overrides(defaults_path=path, env={})

    assert dict(loaded.values) == {"tail_age_ms": 700, "min_interval_ms": 45}
    assert dict(loaded.sources) == {"tail_age_ms": str(path), "min_interval_ms": str(path)}


def test_user_file_then_env(tmp_path):
    path = tmp_path / "my_overrides.json"
    path.write_text(json.dumps(SEED_DEFAULTS), encoding="utf-8")

    loaded = load_overrides(defaults_path=path, env={ENV_VAR: '{"impact_cap_ratio": 0.1}'})

    assert dict(loaded.values) == {**SEED_DEFAULTS, "impact_cap_ratio": 0.1}
    assert dict(loaded.sources) == {
        **dict.fromkeys(SEED_DEFAULTS, str(path)),
        "impact_cap_ratio": ENV_VAR,
    }


@pytest.mark.parametrize(
    ("raw", "key", "value"),
    [
        ('{"spread_bps": 0.1}', "spread_bps", "0.1"),
        ('{"tail_age_ms": true}', "tail_age_ms", "true"),
        ('{"tail_age_ms": false}', "tail_age_ms", "false"),
        ('{"tail_age_ms": "650"}', "tail_age_ms", "650"),
        ('{"tail_age_ms": null}', "tail_age_ms", "null|none"),
        ('{"tail_age_ms": [650]}', "tail_age_ms", "650"),
        ('{"tail_age_ms": NaN}', "tail_age_ms", "nan"),
        ('{"tail_age_ms": Infinity}', "tail_age_ms", "infinity"),
        ('{"tail_age_ms": 1e999}', "tail_age_ms", "1e999"),
        ('{"tail_age_ms": 1' + "0" * 400 + "}", "tail_age_ms", "1000"),
        ('{"tail_age_ms": 900}', "tail_age_ms", "900"),
        ('{"tail_age_ms": 499}', "tail_age_ms", "499"),
        ('{"base_spread_bps_delta": 0.3}', "base_spread_bps_delta", r"0\.3"),
        ('{"impact_cap_ratio": 0.07}', "impact_cap_ratio", r"0\.07"),
        ('{"min_interval_ms": 81}', "min_interval_ms", "81"),
        ('{"replace_rate_per_min": -200}', "replace_rate_per_min", "-200"),
        ('{"tail_age_ms": 600, "tail_age_ms": 700}', "tail_age_ms", ""),
    ],
    ids=[
        "unknown-key",
        "boolean-true",
        "boolean-false",
        "string",
        "null",
        "list",
        "nan",
        "infinity",
        "overflow",
        "huge-int",
        "above-max",
        "below-min",
        "spread-above-max",
        "impact-below-min",
        "interval-above-max",
        "negative",
        "duplicate-key",
    ],
)
def test_env_errors_name_source_key_and_value(raw, key, value):
    with pytest.raises(SoakwatchError) as excinfo:
        load_overrides(env={ENV_VAR: raw})

    message = str(excinfo.value)
    assert ENV_VAR in message
    assert key in message
    if value:
        assert re.search(value, message, re.IGNORECASE), message


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("[1, 2]", "object"),
        ('"tail_age_ms=650"', "object"),
        ("650", "object"),
        ('{"tail_age_ms": 650', "invalid JSON"),
        ("{tail_age_ms: 650}", "invalid JSON"),
        ("tail_age_ms=650", "invalid JSON"),
    ],
    ids=["list", "string", "number", "truncated", "unquoted-key", "not-json"],
)
def test_env_not_a_json_object(raw, detail):
    with pytest.raises(SoakwatchError) as excinfo:
        load_overrides(env={ENV_VAR: raw})

    message = str(excinfo.value)
    assert message.startswith(f"{ENV_VAR}: ")
    assert detail in message


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('{"tail_age_ms": 620, "unknown": 1}', "unknown"),
        ('{"tail_age_ms": true}', "tail_age_ms"),
        ('{"tail_age_ms": "620"}', "tail_age_ms"),
        ('{"tail_age_ms": 1000}', "tail_age_ms"),
        ('{"tail_age_ms": NaN}', "tail_age_ms"),
    ],
    ids=["unknown-key", "boolean", "string", "out-of-bounds", "nan"],
)
def test_user_file_errors_name_the_file_and_key(tmp_path, content, key):
    path = tmp_path / "my_overrides.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SoakwatchError) as excinfo:
        load_overrides(defaults_path=path, env={})

    assert str(path) in str(excinfo.value)
    assert key in str(excinfo.value)


@pytest.mark.parametrize("content", ["[]", '{"tail_age_ms": 6', ""])
def test_user_file_not_an_object_names_the_file(tmp_path, content):
    path = tmp_path / "my_overrides.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SoakwatchError) as excinfo:
        load_overrides(defaults_path=path, env={})

    assert str(path) in str(excinfo.value)


def test_missing_user_file_is_an_error(tmp_path):
    with pytest.raises(SoakwatchError, match="not found"):
        load_overrides(defaults_path=tmp_path / "absent.json", env={})


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ({"tail_age_ms": 500}, True),
        ({"tail_age_ms": 800}, True),
        ({"tail_age_ms": 800.0}, True),
        ({"base_spread_bps_delta": 0.08}, True),
        ({"base_spread_bps_delta": 0.25}, True),
        ({"tail_age_ms": 801}, False),
        ({"base_spread_bps_delta": 0.251}, False),
        ({"base_spread_bps_delta": 0.079}, False),
    ],
)
def test_bounds_are_inclusive(values, ok):
    if ok:
        assert validate_overrides(values, "src") == values
    else:
        with pytest.raises(SoakwatchError, match="^src: "):
            validate_overrides(values, "src")


def test_custom_bounds(tmp_path):
    bounds = {"tail_age_ms": (100, 2000), "min_interval_ms": (1, 10)}
    path = tmp_path / "my_overrides.json"
    path.write_text('{"tail_age_ms": 1500}', encoding="utf-8")

    loaded = load_overrides(path, env={ENV_VAR: '{"min_interval_ms": 5}'}, bounds=bounds)
    assert dict(loaded.values) == {"tail_age_ms": 1500, "min_interval_ms": 5}

    # A key the custom bounds do not know is unknown, even if the defaults know it.
    with pytest.raises(SoakwatchError, match="impact_cap_ratio"):
        load_overrides(path, env={ENV_VAR: '{"impact_cap_ratio": 0.1}'}, bounds=bounds)


def test_shipped_defaults_outside_custom_bounds_are_refused():
    with pytest.raises(SoakwatchError, match="tail_age_ms"):
        load_overrides(env={}, bounds={**DEFAULT_BOUNDS, "tail_age_ms": (0, 100)})


def test_a_variable_that_is_not_text_is_refused():
    with pytest.raises(SoakwatchError, match=rf"^{ENV_VAR}: expected text, got 5$"):
        load_overrides(env={ENV_VAR: 5})  # type: ignore[dict-item]
    assert load_overrides(env={ENV_VAR: None}).values == default_overrides()  # type: ignore[dict-item]
