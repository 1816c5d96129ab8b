"""Streaming summary of audit.jsonl: block reasons as percent of audited actions.

Files of several GB are normal, so the file is read in fixed-size blocks and
memory stays flat. Every line is validated; a cut-short last line (its writer
was killed) is tolerated and counted, a bad line anywhere else is an error
naming its line number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SoakwatchError
from .strictjson import loads_strict

BLOCK_SIZE = 4 * 1024 * 1024
ALLOWED = "allowed"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class AuditCounts:
    """Per-reason action counts of one audit.jsonl (``allowed`` for allowed actions)."""

    counts: dict[str, int]
    lines: int
    truncated_last_line: bool

    def ratios(self) -> dict[str, float]:
        """Percent of all complete lines, one decimal, per reason."""
        if not self.lines:
            return {}
        return {reason: round(100.0 * n / self.lines, 1) for reason, n in self.counts.items()}


def reason_of(record: Any, where: str) -> str:
    """The block reason of one audit record, ``allowed``, or ``unknown``.

    The reason sits in ``fields.reason`` (origin writers) or at the top level as
    ``reason`` / ``blocked_reason`` (other writers).
    """
    if not isinstance(record, dict):
        raise SoakwatchError(f"{where}: expected a JSON object")
    fields = record.get("fields")
    if fields is None:
        fields = {}
    elif not isinstance(fields, dict):
        raise SoakwatchError(f"{where}: 'fields' must be an object")
    for container, key in ((fields, "reason"), (record, "reason"), (record, "blocked_reason")):
        reason = container.get(key)
        if reason is not None:
            if not isinstance(reason, str) or not reason:
                raise SoakwatchError(f"{where}: {key!r} must be a non-empty string")
            return reason
    allowed = fields.get(ALLOWED, record.get(ALLOWED))
    if allowed is True or (type(allowed) is int and allowed == 1):
        return ALLOWED
    return UNKNOWN


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_number, line_without_newline, ended_with_newline)`` in blocks."""
    number = 0
    pending = b""
    with path.open("rb") as stream:
        while block := stream.read(BLOCK_SIZE):
            pieces = (pending + block).split(b"\n")
            pending = pieces.pop()
            for piece in pieces:
                number += 1
                yield number, piece, True
    if pending:
        yield number + 1, pending, False


def count_reasons(path: Path) -> AuditCounts:
    """Count audited actions per reason, validating every line strictly."""
    counts: Counter[str] = Counter()
    truncated = False
    try:
        for number, raw, complete in _lines(path):
            line = raw.rstrip(b"\r")
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            where = f"{path}: line {number}"
            try:
                record = loads_strict(line, where)
            except SoakwatchError:
                if not complete:
                    truncated = True
                    continue
                raise
            counts[reason_of(record, where)] += 1
    except OSError as exc:
        raise SoakwatchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return AuditCounts(
        counts=dict(counts), lines=sum(counts.values()), truncated_last_line=truncated
    )
