"""The fast path, and the two-process split, give the strict parser's result on every input."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_soakwatch import SoakwatchError, audit

CANONICAL_ALLOWED = (
    '{"fields":{"allowed":1},"kind":"PLACE","prev_sha256":"GENESIS","sha256":"9f2c",'
    '"symbol":"BTCUSDT","ts":"2025-10-13T12:00:00Z"}'
)
CANONICAL_BLOCKED = (
    '{"fields":{"allowed":0,"reason":"min_interval"},"kind":"REPLACE","prev_sha256":"9f2c",'
    '"sha256":"41ab","symbol":"ETHUSDT","ts":"2025-10-13T12:00:00.250Z"}'
)
VALID_LINES = {
    "allowed": CANONICAL_ALLOWED,
    "blocked": CANONICAL_BLOCKED,
    "no-reason-not-allowed": CANONICAL_ALLOWED.replace('"allowed":1', '"allowed":0'),
    "allowed-with-reason": CANONICAL_BLOCKED.replace('"allowed":0', '"allowed":1'),
    "dumps-spacing": json.dumps(json.loads(CANONICAL_BLOCKED), sort_keys=True),
    "escaped-reason": CANONICAL_BLOCKED.replace("min_interval", "m\\u0069n_interval"),
    "quote-colon-in-value": CANONICAL_BLOCKED.replace("ETHUSDT", 'ETH\\":USDT'),
    "flat-reason": '{"allowed":0,"reason":"risk","symbol":"BTCUSDT"}',
    "blocked-reason": '{"blocked_reason":"throttle","kind":"PLACE"}',
    "other-key-order": '{"ts":"t","fields":{"reason":"risk","allowed":0},"kind":"PLACE"}',
    "nested-extra": CANONICAL_BLOCKED.replace('"reason"', '"extra":{"a":[1,2,{}]},"reason"'),
    "unicode": CANONICAL_BLOCKED.replace("ETHUSDT", "ETH€"),
    "allowed-true": CANONICAL_ALLOWED.replace('"allowed":1', '"allowed":true'),
    "allowed-float": CANONICAL_ALLOWED.replace('"allowed":1', '"allowed":1.0'),
    "allowed-big": CANONICAL_ALLOWED.replace('"allowed":1', '"allowed":' + "9" * 30),
    "surrogate-pair": CANONICAL_BLOCKED.replace("ETHUSDT", "\\ud83d\\ude00"),
    "trailing-space": CANONICAL_BLOCKED + "   ",
    "crlf": CANONICAL_BLOCKED + "\r",
    "reason-null": CANONICAL_ALLOWED.replace('"allowed":1', '"allowed":1,"reason":null'),
}
BAD_LINES = {
    "dup-in-fields": CANONICAL_BLOCKED.replace('"reason"', '"allowed":1,"reason"'),
    "dup-top": CANONICAL_BLOCKED.replace('"kind"', '"kind":"X","kind"'),
    "dup-reason": CANONICAL_BLOCKED.replace(
        '"reason":"min_interval"', '"reason":"min_interval","reason":"risk"'
    ),
    "two-objects": CANONICAL_ALLOWED + " " + CANONICAL_ALLOWED,
    "nan": CANONICAL_BLOCKED.replace('"ts":"2025-10-13T12:00:00.250Z"', '"ts":NaN'),
    "overflow": CANONICAL_BLOCKED.replace('"extra"', '"x"').replace('"kind"', '"n":1e999,"kind"'),
    "empty-reason": CANONICAL_BLOCKED.replace("min_interval", ""),
    "reason-number": CANONICAL_BLOCKED.replace('"min_interval"', "7"),
    "control-char": CANONICAL_BLOCKED.replace("ETHUSDT", "ETH\x01USDT"),
    "lone-surrogate": CANONICAL_BLOCKED.replace("ETHUSDT", "\\ud800"),
    "lone-surrogate-reason": CANONICAL_BLOCKED.replace("min_interval", "\\udc00"),
    "array": "[1, 2]",
    "garbage": "{oops",
    "spans-lines": CANONICAL_BLOCKED.replace(',"kind"', ',\n"kind"'),
}
LINES = {**VALID_LINES, **BAD_LINES}


def outcome(path: Path, fast: bool, processes: int = 1) -> Any:
    try:
        found = audit.count_reasons(path, fast=fast, processes=processes)
    except SoakwatchError as exc:
        return ("error", str(exc))
    return (dict(sorted(found.counts.items())), found.lines, found.truncated_last_line)


@pytest.fixture(params=[True, False], ids=["fast", "strict"])
def fast(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize("odd", sorted(LINES))
def test_each_odd_line_between_canonical_ones(tmp_path: Path, fast: bool, odd: str) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [CANONICAL_ALLOWED, CANONICAL_BLOCKED, LINES[odd], CANONICAL_BLOCKED]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    assert outcome(path, fast) == outcome(path, False)


def test_engines_agree_on_the_canonical_case(tmp_path: Path, fast: bool) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text(f"{CANONICAL_ALLOWED}\n{CANONICAL_BLOCKED}\n{CANONICAL_ALLOWED}\n")
    assert outcome(path, fast) == ({"allowed": 2, "min_interval": 1}, 3, False)


def test_bom_blank_lines_and_cut_short_tail(tmp_path: Path, fast: bool) -> None:
    path = tmp_path / "audit.jsonl"
    text = f"\ufeff{CANONICAL_ALLOWED}\n\n{CANONICAL_BLOCKED}\r\n{CANONICAL_BLOCKED[:40]}"
    path.write_text(text, encoding="utf-8")
    assert outcome(path, fast) == ({"allowed": 1, "min_interval": 1}, 2, True)


def mixed_file(path: Path, count: int, bad_at: int | None = None) -> None:
    """Canonical lines with odd-but-valid ones sprinkled in, optionally one bad line."""
    rnd = random.Random(count)
    valid = sorted(VALID_LINES)
    lines = []
    for number in range(1, count + 1):
        if number == bad_at:
            lines.append(BAD_LINES["dup-top"])
        elif rnd.random() < 0.02:
            lines.append(VALID_LINES[rnd.choice(valid)])
        else:
            lines.append(rnd.choice([CANONICAL_ALLOWED, CANONICAL_BLOCKED]))
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("bad_at", [None, 17, 2900])
def test_many_blocks_and_two_processes_agree_with_the_strict_parser(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast: bool,
    processes: int,
    bad_at: int | None,
) -> None:
    monkeypatch.setattr(audit, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(audit, "PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "audit.jsonl"
    mixed_file(path, 3000, bad_at)
    expected = outcome(path, False, processes=1)
    assert outcome(path, fast, processes) == expected
    if bad_at is None:
        assert expected[1] == 3000
    else:
        assert expected == ("error", f"{path}: line {bad_at}: duplicate key 'kind'")


#: A library script as a user writes one: no ``if __name__ == "__main__"`` guard, and the
#: start method of Windows and macOS, whose helpers import the main module again.
UNGUARDED_SCRIPT = """
import multiprocessing, sys
multiprocessing.set_start_method("spawn")
from pytest_soakwatch import audit
audit.PARALLEL_MIN_BYTES = 0
print("the script ran", flush=True)
print(audit.count_reasons(sys.argv[1]).counts, flush=True)
helper = audit._fork_context()
print(helper and helper.get_start_method())
"""


def run_script(tmp_path: Path, code: str) -> list[str]:
    """Run ``code`` as a script on an audit.jsonl of a few lines (in a process of one thread:
    pytest's may have more); its output lines."""
    path = tmp_path / "audit.jsonl"
    path.write_text(f"{CANONICAL_ALLOWED}\n{CANONICAL_BLOCKED}\n" * 50)
    script = tmp_path / "script.py"
    script.write_text(code)
    command = [sys.executable, str(script), str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout.splitlines()


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    helper = None if sys.platform in ("win32", "darwin") else "fork"
    assert run_script(tmp_path, UNGUARDED_SCRIPT) == [
        "the script ran",
        "{'allowed': 50, 'min_interval': 50}",
        str(helper),
    ]


def test_no_helper_on_macos_or_beside_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(audit.sys, "platform", "darwin")
        assert audit._fork_context() is None
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert audit._fork_context() is None
    finally:
        stop.set()
        other.join()


def test_without_a_safe_helper_one_process_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a helper process was started")

    monkeypatch.setattr(audit, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(audit, "_fork_context", lambda: None)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    path = tmp_path / "audit.jsonl"
    mixed_file(path, 300, None)
    assert outcome(path, True, processes=None) == outcome(path, False)


DYING_HELPER_SCRIPT = """
import os, sys
from pytest_soakwatch import audit
audit.PARALLEL_MIN_BYTES = 0
audit.BLOCK_SIZE = 64
parent, scan = os.getpid(), audit._scan

def dying_scan(*args):
    if os.getpid() != parent:
        os._exit(1)  # as if killed, or out of memory
    return scan(*args)

audit._scan = dying_scan
print(audit.count_reasons(sys.argv[1]))
"""


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs a forked helper")
def test_a_helper_that_dies_leaves_its_half_to_the_caller(tmp_path: Path) -> None:
    assert run_script(tmp_path, DYING_HELPER_SCRIPT) == [
        "AuditCounts(counts={'allowed': 50, 'min_interval': 50}, lines=100, "
        "truncated_last_line=False)"
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not json", "line 1: invalid JSON at column 1"),
        ("\ufeffnot json".encode("utf-16"), "line 1: not UTF-8"),
        (f"{CANONICAL_ALLOWED}\n\ufeff{CANONICAL_BLOCKED}\n".encode(), "line 2: invalid JSON"),
        (b'{"reason": 5}', "line 1: 'reason' must be a non-empty string"),
        (b'{"reason": "a", "reason": "b"}', "line 1: duplicate key 'reason'"),
        (b'{"reason": "b"} x', "line 1: invalid JSON at column 17: Extra data"),
    ],
    ids=["garbage-tail", "utf-16", "bom-in-the-middle", "complete-but-wrong", "dup", "extra"],
)
def test_a_tail_that_is_no_json_line_is_an_error(
    tmp_path: Path, fast: bool, content: bytes, problem: str
) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(content)
    found = outcome(path, fast)
    assert found[0] == "error"
    assert found[1].startswith(f"{path}: {problem}")


def test_a_line_longer_than_several_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    monkeypatch.setattr(audit, "BLOCK_SIZE", 64)
    long_line = CANONICAL_BLOCKED.replace("ETHUSDT", "E" * 1000)
    path = tmp_path / "audit.jsonl"
    path.write_text(f"{CANONICAL_ALLOWED}\n{long_line}\n{long_line}")
    assert outcome(path, fast) == ({"allowed": 1, "min_interval": 2}, 3, False)
