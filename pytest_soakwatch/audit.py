"""Streaming summary of audit.jsonl: block reasons as percent of audited actions.

Files of several GB are normal, so the file is read in fixed-size blocks (and,
when large, by two processes over two halves) and memory stays flat. Every line
is validated; a cut-short last line (its writer was killed) is tolerated and
counted, a bad line anywhere else is an error naming its line number.

Lines of the shape real writers produce are recognized by one regex, a block at
a time; any other line goes through the strict parser, so the result is the
strict parser's on every input (see :mod:`pytest_soakwatch.audit_engines`).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audit_engines import count_canonical_block, match_canonical_line
from .errors import SoakwatchError
from .strictjson import BOM, JSONProblem, parse_strict

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

BLOCK_SIZE = 1024 * 1024
#: Real lines are a few hundred bytes; one past this is not a line (a file preallocated with
#: zeros, say) and would have to be held whole.
MAX_LINE = 16 * 1024 * 1024
#: Files at least this large are read by two processes (where there are two cores and the
#: second process can be forked).
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
ALLOWED = "allowed"
UNKNOWN = "unknown"
_UTF8_BOM = BOM.encode("utf-8")


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


class _LineProblem(Exception):
    """A bad line, numbered within the part of the file one process read."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(line, problem)
        self.line = line
        self.problem = problem


def reason_of(record: Any) -> str:
    """The block reason of one audit record, ``allowed``, or ``unknown``.

    The reason sits in ``fields.reason`` (origin writers) or at the top level as
    ``reason`` / ``blocked_reason`` (other writers). Raises :class:`JSONProblem`.
    """
    if not isinstance(record, dict):
        raise JSONProblem("expected a JSON object")
    fields = record.get("fields")
    if fields is None:
        fields = {}
    elif not isinstance(fields, dict):
        raise JSONProblem("'fields' must be an object")
    for container, key in ((fields, "reason"), (record, "reason"), (record, "blocked_reason")):
        reason = container.get(key)
        if reason is not None:
            if not isinstance(reason, str) or not reason:
                raise JSONProblem(f"{key!r} must be a non-empty string")
            return reason
    allowed = fields.get(ALLOWED, record.get(ALLOWED))
    if allowed is True or (type(allowed) is int and allowed == 1):
        return ALLOWED
    return UNKNOWN


def _line_by_line(data: bytes, counts: Counter[str], first_line: int, fast: bool) -> None:
    """Each line: the canonical shape if it has it (and ``fast``), else the strict parser."""
    for offset, line in enumerate(data.split(b"\n")[:-1]):
        reason = match_canonical_line(line) if fast else None
        if reason is not None:
            counts[reason] += 1
            continue
        if not line.strip():
            continue
        try:
            counts[reason_of(parse_strict(line, one_line=True, bom=False))] += 1
        except JSONProblem as exc:
            raise _LineProblem(first_line + offset, str(exc)) from None


@dataclass(frozen=True)
class _Part:
    """What one process found in its byte range of the file."""

    counts: dict[str, int]
    lines: int  # physical lines, blank ones included (for numbering)
    truncated: bool
    problem: tuple[int, str] | None


def _scan(path: str, start: int, end: int, fast: bool) -> _Part:
    """Count the reasons of the lines in ``[start, end)``; ``start`` begins a line.

    Blocks are not copied: each is counted between its first and last line
    breaks, and only a line cut by a block boundary is joined from two reads.
    """
    counts: Counter[str] = Counter()
    lines = 0

    def complete_lines(data: bytes, lo: int, hi: int) -> None:
        nonlocal lines
        if lines == 0 and start == 0 and data.startswith(_UTF8_BOM, lo):
            lo += len(_UTF8_BOM)
        newlines = data.count(b"\n", lo, hi)
        if not (fast and count_canonical_block(data, lo, hi, newlines, counts)):
            _line_by_line(data[lo:hi], counts, lines + 1, fast)
        lines += newlines

    pending: list[bytes] = []  # a line longer than a block arrives in pieces
    with open(path, "rb", buffering=0) as stream:  # whole blocks: a buffer would only copy
        stream.seek(start)
        remaining = end - start
        try:
            while remaining > 0:
                block = stream.read(min(BLOCK_SIZE, remaining))
                if not block:
                    break
                remaining -= len(block)
                last = block.rfind(b"\n")
                if last < 0:
                    pending.append(block)
                    if sum(map(len, pending)) > MAX_LINE:
                        problem = f"longer than {MAX_LINE // 2**20} MiB"
                        return _Part(dict(counts), lines, False, (lines + 1, problem))
                    continue
                lo = 0
                if pending:
                    lo = block.find(b"\n") + 1
                    head = b"".join([*pending, block[:lo]])
                    complete_lines(head, 0, len(head))
                complete_lines(block, lo, last + 1)
                pending = [block[last + 1 :]]
        except _LineProblem as exc:
            return _Part(dict(counts), lines, False, (exc.line, exc.problem))
    tail = b"".join(pending)
    if lines == 0 and start == 0 and tail.startswith(_UTF8_BOM):
        tail = tail[len(_UTF8_BOM) :]
    truncated = False
    if tail.strip():
        try:
            counts[reason_of(parse_strict(tail, one_line=True, bom=False))] += 1
            lines += 1
        except JSONProblem as exc:
            if not exc.cut_short:  # complete but wrong: an error like any other line
                return _Part(dict(counts), lines, False, (lines + 1, str(exc)))
            truncated = True
    return _Part(dict(counts), lines, truncated, None)


def _split(path: str, size: int) -> int:
    """A line start near the middle of the file (its end, if no line starts after the middle)."""
    with open(path, "rb", buffering=0) as stream:
        stream.seek(size // 2)
        while block := stream.read(BLOCK_SIZE):  # a block at a time: a line may be huge
            end = block.find(b"\n")
            if end >= 0:
                return stream.tell() - len(block) + end + 1
        return size


def _fork_context() -> BaseContext | None:
    """The fork context, where a forked helper is safe; else ``None`` (read in one process).

    A spawned or forkserver helper imports the caller's main module again: a
    library script without an ``if __name__ == "__main__"`` guard would run
    twice. A forked one copies the process, which is safe with one thread and
    off macOS (its system libraries are not fork-safe).
    """
    if sys.platform == "darwin" or threading.active_count() > 1:
        return None
    import multiprocessing  # only for large files

    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # Windows
        return None


def _parts(path: str, fast: bool, processes: int | None) -> list[_Part]:
    size = os.stat(path).st_size
    if size < PARALLEL_MIN_BYTES:
        return [_scan(path, 0, size, fast)]
    context = _fork_context()
    if processes is None:
        processes = min(2, os.cpu_count() or 1) if context else 1  # cpu_count reads /sys
    if processes < 2:
        return [_scan(path, 0, size, fast)]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    middle = _split(path, size)
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        second = pool.submit(_scan, path, middle, size, fast)
        first = _scan(path, 0, middle, fast)
        try:
            return [first, second.result()]
        except BrokenProcessPool:  # the helper died (killed, out of memory): its half here
            return [first, _scan(path, middle, size, fast)]


def count_reasons(path: Path | str, fast: bool = True, processes: int | None = None) -> AuditCounts:
    """Count audited actions per reason, validating every line strictly.

    ``fast=False`` sends every line through the strict parser (the reference
    the fast path is tested against). ``processes``: by default two for a large
    file on a machine with two cores or more, where the second can be forked
    (POSIX systems but macOS, from a process with one thread), else one.
    ``processes=2`` asks for two anywhere; where the helper is not forked, the
    caller's main module needs an ``if __name__ == "__main__"`` guard, as for
    any use of :mod:`multiprocessing`.
    """
    try:
        parts = _parts(os.fspath(path), fast, processes)
    except OSError as exc:
        raise SoakwatchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    counts: Counter[str] = Counter()
    before = 0
    for part in parts:
        if part.problem is not None:
            line, problem = part.problem
            raise SoakwatchError(f"{path}: line {before + line}: {problem}")
        counts.update(part.counts)
        before += part.lines
    lines = sum(counts.values())
    return AuditCounts(counts=dict(counts), lines=lines, truncated_last_line=parts[-1].truncated)
