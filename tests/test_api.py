"""The package's public names, and what loading the plugin imports when no soak is asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_soakwatch


@pytest.mark.parametrize("name", pytest_soakwatch.__all__)
def test_public_name_resolves(name: str) -> None:
    assert getattr(pytest_soakwatch, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = pytest_soakwatch.nope  # type: ignore[attr-defined]


def test_loading_the_plugin_imports_only_its_declarations() -> None:
    code = (
        "import sys, pytest_soakwatch.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('pytest_soakwatch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(
        [
            "pytest_soakwatch",
            "pytest_soakwatch.hookspecs",
            "pytest_soakwatch.options",
            "pytest_soakwatch.plugin",
        ]
    )
