"""What a runner and a user's test get to see of one soak iteration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SoakwatchError
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
    _parsed: dict[str, dict[str, Any] | None] = field(default_factory=dict, repr=False)

    def _load(self, name: str) -> dict[str, Any] | None:
        """The file parsed, once; a malformed one is a :class:`SoakwatchError` whose traceback
        in a failing test shows the test's frames, not ours."""
        __tracebackhide__ = True
        if name not in self._parsed:
            path = self.directory / name
            try:
                self._parsed[name] = read_json_object(path) if path.is_file() else None
            except SoakwatchError as exc:
                raise SoakwatchError(str(exc)) from None  # raised here, in a hidden frame
        return self._parsed[name]

    @property
    def edge_report(self) -> dict[str, Any] | None:
        __tracebackhide__ = True
        return self._load(EDGE_REPORT)

    @property
    def kpi_gate(self) -> dict[str, Any] | None:
        __tracebackhide__ = True
        return self._load(KPI_GATE)

    @property
    def edge_sentinel(self) -> dict[str, Any] | None:
        __tracebackhide__ = True
        return self._load(EDGE_SENTINEL)

    @property
    def audit_path(self) -> Path | None:
        path = self.directory / AUDIT_LOG
        return path if path.is_file() else None
