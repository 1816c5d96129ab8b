"""What a runner and a user's test get to see of one soak iteration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .strictjson import read_json_object
from .summary import AUDIT_LOG, EDGE_REPORT, EDGE_SENTINEL, KPI_GATE


@dataclass(frozen=True)
class SoakIteration:
    """One iteration of one soak.

    ``overrides`` is read-only: the parameters this iteration runs with.
    ``artifacts_dir`` is the fresh directory a runner writes the four
    artifacts into. ``overrides_source`` says where the overrides came from.
    """

    soak: str
    index: int
    total: int
    overrides: Mapping[str, float]
    artifacts_dir: Path
    output_dir: Path
    overrides_source: str = "defaults"
    scenario: str | None = None
    seed: int = 0


@dataclass
class SoakArtifacts:
    """The iteration's files, parsed on first use (audit.jsonl stays a path: it can be GBs)."""

    directory: Path

    def _load(self, name: str) -> dict[str, Any] | None:
        path = self.directory / name
        return read_json_object(path) if path.is_file() else None

    @cached_property
    def edge_report(self) -> dict[str, Any] | None:
        return self._load(EDGE_REPORT)

    @cached_property
    def kpi_gate(self) -> dict[str, Any] | None:
        return self._load(KPI_GATE)

    @cached_property
    def edge_sentinel(self) -> dict[str, Any] | None:
        return self._load(EDGE_SENTINEL)

    @property
    def audit_path(self) -> Path | None:
        path = self.directory / AUDIT_LOG
        return path if path.is_file() else None
