"""Shared test fixtures."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

# --- Watcher-core helper (used by test_summary, test_audit, test_strictjson, test_watcher) -------
# ``write_artifacts(directory=None, edge=..., kpi=..., sentinel=..., audit_lines=...)`` writes one
# iteration's artifacts into ``directory`` (default: tmp_path / "artifacts") and returns it.
# A dict/list is written as JSON; str or bytes are written as they are (for malformed files); None
# leaves the file out. Audit lines are dicts (JSON) or raw str, each followed by "\n".
# ``edge`` defaults to an empty current-style report, since EDGE_REPORT.json is required.


def _content(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")


@pytest.fixture
def write_artifacts(tmp_path: Path) -> Callable[..., Path]:
    def write(
        directory: Path | None = None,
        *,
        edge: Any = None,
        kpi: Any = None,
        sentinel: Any = None,
        audit_lines: Iterable[Any] | None = None,
    ) -> Path:
        directory = tmp_path / "artifacts" if directory is None else directory
        directory.mkdir(parents=True, exist_ok=True)
        files = {
            "EDGE_REPORT.json": {"totals": {}} if edge is None else edge,
            "KPI_GATE.json": kpi,
            "EDGE_SENTINEL.json": sentinel,
        }
        for name, value in files.items():
            if value is not None:
                (directory / name).write_bytes(_content(value))
        if audit_lines is not None:
            text = "".join(
                f"{line if isinstance(line, str) else json.dumps(line)}\n" for line in audit_lines
            )
            (directory / "audit.jsonl").write_bytes(text.encode("utf-8"))
        return directory

    return write


# --- end of watcher-core helper ------------------------------------------------------------------


# --- Plugin tests: one way to set up a soak project (used by test_plugin, test_soaks, ...) -----


@pytest.fixture
def soak(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A clean project directory: no inherited options or soak variables, wide output."""
    for name in list(os.environ):
        if name.startswith("SOAKWATCH_") or name in ("PYTEST_ADDOPTS", "MM_RUNTIME_OVERRIDES_JSON"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "400")  # short summary lines unabridged
    return pytester
