"""Settings declared: each one a command-line option, an environment variable and an ini key.

Precedence, highest first: command line > environment > ini file > default.
This module is all the plugin loads when no soak is asked for; the values are
parsed in :mod:`pytest_soakwatch.settings`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GATES = ("final", "any")
DEFAULT_OUT = "artifacts/soak/latest"


@dataclass(frozen=True)
class Setting:
    """One setting: ``name`` gives ``--soak-NAME``, ``SOAKWATCH_NAME`` and ini ``soak_NAME``."""

    name: str
    help: str
    flag: bool = False
    metavar: str | None = None
    many: bool = False  # repeatable option, comma-separated variable, ini line list

    @property
    def option(self) -> str:
        return "--soak-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return "soak_" + self.name

    @property
    def ini(self) -> str:
        return self.dest + ("s" if self.many else "")

    @property
    def env(self) -> str:
        return "SOAKWATCH_" + self.ini.removeprefix("soak_").upper()


SETTINGS = (
    Setting("iterations", "run a soak of N iterations, one test item each", metavar="N"),
    Setting("mock", "run the built-in simulator instead of a real system", flag=True),
    Setting("mock_scenario", "simulator scenario: calm (default), volatile, spike", metavar="NAME"),
    Setting("seed", "simulator seed (default 0)", metavar="INT"),
    Setting("auto_tune", "apply each iteration's advice to the next one's overrides", flag=True),
    Setting("out", f"output directory (default {DEFAULT_OUT})", metavar="DIR"),
    Setting(
        "overrides", "JSON file of default overrides (default: the shipped one)", metavar="PATH"
    ),
    Setting(
        "gate", "fail on the final verdict only, or on any FAIL iteration", metavar="final|any"
    ),
    Setting(
        "name",
        "declare a soak (repeatable): NAME, NAME:SCENARIO or NAME:SCENARIO:SEED",
        metavar="NAME",
        many=True,
    ),
)

INI_TABLES = {
    "soak_tuning": "tuning rule thresholds and steps, one 'name = value' a line",
    "soak_bounds": "override bounds, one 'parameter = min max' a line",
    "soak_kpi_thresholds": "KPI limits, one 'metric = warn fail' a line ('-' for none)",
}


def register(parser: pytest.Parser) -> None:
    """Add the option group and the ini keys (values are parsed later, in :func:`resolve`)."""
    group = parser.getgroup("soakwatch", "soak tests (pytest-soakwatch)")
    for setting in SETTINGS:
        if setting.flag:
            group.addoption(setting.option, action="store_true", default=None, help=setting.help)
            group.addoption(
                "--no-" + setting.option[2:],
                action="store_false",
                dest=setting.dest,
                default=None,
                help=f"turn {setting.option} off (over the environment and the ini file)",
            )
        elif setting.many:
            group.addoption(
                setting.option, action="append", metavar=setting.metavar, help=setting.help
            )
        else:
            group.addoption(setting.option, metavar=setting.metavar, help=setting.help)
        help_text = f"{setting.help} [{setting.env}]"
        if setting.many:
            parser.addini(setting.ini, help_text, type="linelist", default=None)
        else:
            parser.addini(setting.ini, help_text, default=None)
    for key, help_text in INI_TABLES.items():
        parser.addini(key, help_text, type="linelist", default=[])


def raw_value(config: pytest.Config, setting: Setting) -> tuple[Any, str, Path] | None:
    """The first value given, with its source name and the directory paths are relative to."""
    value = config.getoption(setting.dest)
    if value is not None:
        return value, setting.option, config.invocation_params.dir
    env = os.environ.get(setting.env, "").strip()
    if env:
        value = env.replace(",", " ").split() if setting.many else env
        return value, setting.env, config.invocation_params.dir
    with warnings.catch_warnings():  # pytest 9 warns of a TOML array for one value: we refuse it
        warnings.filterwarnings("ignore", "Passing a value that is not a string")
        ini = config.getini(setting.ini)
    if ini not in (None, "", []):
        ini_text(setting.ini, ini, setting.many)
        base = config.inipath.parent if config.inipath else config.rootpath
        return ini, f"ini {setting.ini}", base
    return None


def ini_text(key: str, value: Any, lines: bool) -> None:
    """Refuse what a TOML file can hold but our ini keys do not: they take text, one value
    or (``lines``) a list of lines."""
    if lines:
        ok = isinstance(value, list) and all(isinstance(line, str) for line in value)
        expected = "lines of text"
    else:
        ok, expected = isinstance(value, str), "one value as text"
    if not ok:
        raise pytest.UsageError(f"ini {key}: expected {expected}, got {value!r}")


def is_requested(config: pytest.Config) -> bool:
    """Cheap check used when the plugin is installed but maybe not asked for."""
    setting = SETTINGS[0]
    return raw_value(config, setting) is not None
