"""pytest-soakwatch's performance goals, each measured against its floor in the same run.

    python benchmarks/run.py            # all three, 300 MB audit file
    python benchmarks/run.py --audit-mb 50 --only audit

The machine is shared and noisy: every figure is the best of several runs,
and each goal is a ratio to a floor measured here and now. Nothing is
asserted; the script prints the figures and whether each goal is met.
pytest runs with no other plugin loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD=1,
pytest-soakwatch named with ``-p``), so the floor is pytest alone.

1. audit.jsonl: ``summarize_iteration`` on a file in the real line shape
   against ``wc -l`` on the same file (goal: at most 12x; peak memory at most
   64 MB), and a broken line in the middle is still an error.
2. Per-iteration overhead: a mock soak of 2,000 iterations against bare pytest
   running 2,000 trivial parametrized items (goal: at most 3x), and the time per
   iteration at 2,000 against 200 (goal: at most 1.5x).
3. Installed but off: collecting a 2,000-test project with the plugin against
   ``-p no:soakwatch`` (goal: at most 1.10x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pytest_soakwatch.simulator import simulate_iteration  # noqa: E402

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
#: Other installed plugins (pytest-xdist, pytest-rerunfailures, ...) are not loaded: each adds
#: its own cost to every item, which would hide part of ours. pytest-soakwatch is loaded by
#: name, as its entry point would load it.
ALONE = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
#: Bytecode is cached as on a user's machine: pip installs pytest precompiled, and an editable
#: install of ours would otherwise be compiled afresh on every run where this is set.
ALONE.pop("PYTHONDONTWRITEBYTECODE", None)
PLUGIN = ["-p", "pytest_soakwatch.plugin"]


def write_bare_project(directory: Path, items: int) -> None:
    """The floor's project: one test function, parametrized into ``items`` trivial items."""
    (directory / "test_bare.py").write_text(
        f"import pytest\n\n@pytest.mark.parametrize('i', range({items}))\n"
        "def test_item(i):\n    pass\n"
    )


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes; what earlier runs wrote reaches the disk before the clock starts,
    so that no run pays for the kernel writing back another's files."""
    if hasattr(os, "sync"):  # not on Windows
        os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def best_of(runs: int, action: Callable[[], object]) -> float:
    return min(timed(action) for _ in range(runs))


def verdict(ratio: float, goal: float) -> str:
    return f"goal <= {goal:g}x: {'met' if ratio <= goal else f'MISSED by {ratio / goal:.2f}x'}"


# --- 1. audit.jsonl ------------------------------------------------------------------------


def write_audit(path: Path, megabytes: int, bad_line_at_middle: bool = False) -> int:
    """An audit.jsonl of about ``megabytes`` in the real line shape; returns its line count."""
    sample = Path(tempfile.mkdtemp())
    simulate_iteration(sample, {}, iteration=1, audit_lines=2000)
    chunk = (sample / "audit.jsonl").read_bytes()
    shutil.rmtree(sample)
    copies = max(1, megabytes * 1024 * 1024 // len(chunk))
    with path.open("wb") as stream:
        for copy in range(copies):
            stream.write(chunk)
            if bad_line_at_middle and copy == copies // 2:
                stream.write(b'{"fields":{"allowed":0,"reason":"risk"},"kind":"PLACE",}\n')
    return copies * chunk.count(b"\n") + bad_line_at_middle


MEMORY_PROBE = """
import resource, sys
from pytest_soakwatch import summarize_iteration
summary = summarize_iteration(sys.argv[1])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
print(max(own, children) * scale, summary["audit"]["lines"])
"""


def bench_audit(megabytes: int, runs: int) -> None:
    from pytest_soakwatch import SoakwatchError, summarize_iteration

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "EDGE_REPORT.json").write_text(json.dumps({"totals": {"net_bps": 3.0}}))
        audit = directory / "audit.jsonl"
        lines = write_audit(audit, megabytes)
        size = audit.stat().st_size
        print(f"1. audit.jsonl: {size / 2**20:.0f} MiB, {lines:,} lines in the real shape")
        wc = shutil.which("wc")
        if wc:
            floor = best_of(5, lambda: subprocess.run([wc, "-l", str(audit)], capture_output=True))
            floor_name = "wc -l"
        else:  # Windows without coreutils: the pure-Python newline count

            def count_newlines() -> int:
                with audit.open("rb") as stream:
                    return sum(
                        block.count(b"\n") for block in iter(lambda: stream.read(2**20), b"")
                    )

            floor, floor_name = best_of(5, count_newlines), "Python newline count"
        found = summarize_iteration(directory)
        assert found["audit"]["lines"] == lines, found["audit"]
        took = best_of(runs, lambda: summarize_iteration(directory))
        print(f"   {floor_name:<22} {floor * 1000:8.1f} ms   (the floor)")
        print(
            f"   summarize_iteration    {took * 1000:8.1f} ms   {took / floor:5.1f}x   "
            f"{verdict(took / floor, 12)}   ({size / took / 2**20:.0f} MiB/s)"
        )
        if sys.platform != "win32":
            probe = subprocess.run(
                [sys.executable, "-c", MEMORY_PROBE, str(directory)],
                capture_output=True,
                text=True,
                check=True,
                cwd=HERE.parent,
            )
            peak = int(probe.stdout.split()[0]) / 2**20
            print(
                f"   peak memory            {peak:8.1f} MiB  (largest process)   goal <= 64 MiB: "
                f"{'met' if peak <= 64 else 'MISSED'}"
            )
        audit.unlink()
        broken = write_audit(audit, max(1, megabytes // 10), bad_line_at_middle=True)
        start = time.perf_counter()
        try:
            summarize_iteration(directory)
        except SoakwatchError as exc:
            message = str(exc).replace(str(directory), "<dir>")
            print(f"   a bad line in the middle of {broken:,} lines: {message}")
            print(f"   (found in {(time.perf_counter() - start) * 1000:.0f} ms)")
        else:
            print("   a bad line in the middle was NOT found")


# --- 2. per-iteration overhead -----------------------------------------------------------


def run_pytest(args: list[str], cwd: Path) -> None:
    """One pytest run; one that fails stops the script (its time would measure nothing)."""
    done = subprocess.run([*PYTEST, *args], cwd=cwd, capture_output=True, text=True, env=ALONE)
    if done.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


def fresh_soak(iterations: int, extra: list[str], parent: Path) -> float:
    """One soak in a new directory under ``parent``, timed.

    Nothing is removed between runs: on a file system without a journal (ext4
    here), files created soon after many were deleted take a slow path in the
    kernel (inodes deleted in the last minutes are skipped one by one), which
    would time the benchmark's own cleaning, not the soak.
    """
    cwd = Path(tempfile.mkdtemp(dir=parent))
    args = [*PLUGIN, f"--soak-iterations={iterations}", "--soak-mock", *extra]
    return timed(lambda: run_pytest(args, cwd))


MOCK_FILES = {"EDGE_REPORT.json": 757, "KPI_GATE.json": 114, "EDGE_SENTINEL.json": 134}
MOCK_AUDIT_BYTES = 25_650  # 100 audit lines


def files_alone(iterations: int, parent: Path) -> float:
    """The file system's part of a soak, written with pathlib: per iteration a directory, the
    mock's four files and ITER_SUMMARY (a temporary file, then renamed). Context, not a goal."""
    root = Path(tempfile.mkdtemp(dir=parent))
    sizes = {**MOCK_FILES, "audit.jsonl": MOCK_AUDIT_BYTES}
    start = time.perf_counter()
    for index in range(1, iterations + 1):
        directory = root / str(index)
        directory.mkdir()
        for name, size in sizes.items():
            (directory / name).write_bytes(b"x" * size)
        staged = root / f".ITER_SUMMARY_{index}.json.tmp"
        staged.write_bytes(b"x" * 1600)
        os.replace(staged, root / f"ITER_SUMMARY_{index}.json")
    return time.perf_counter() - start


MODES = {"": [], " --soak-auto-tune": ["--soak-auto-tune"]}
SIZES = (2000, 200, 1)


def bench_iterations(runs: int, where: str | None) -> None:
    print(f"2. per-iteration overhead (soaks write under {where or tempfile.gettempdir()})")
    with (
        tempfile.TemporaryDirectory() as bare_tmp,
        tempfile.TemporaryDirectory(dir=where) as soaks_tmp,
    ):
        project, parent = Path(bare_tmp), Path(soaks_tmp)
        write_bare_project(project, 2000)
        # Each round runs the floor and every soak once, so that the machine's slow spells
        # (another job on the host) fall on all of them alike.
        bare = float("inf")
        best = {(label, size): float("inf") for label in MODES for size in SIZES}
        for _ in range(runs):
            bare = min(bare, timed(lambda: run_pytest(["test_bare.py"], project)))
            for label, extra in MODES.items():
                for size in SIZES:
                    best[label, size] = min(best[label, size], fresh_soak(size, extra, parent))
        width = len("mock soak --soak-auto-tune, 2,000 iterations")
        print(f"   {'bare pytest, 2,000 items':<{width}} {bare:6.2f} s   (the floor)")
        for label in MODES:
            soak, short, start = (best[label, size] for size in SIZES)
            name = f"mock soak{label}, 2,000 iterations"
            ratio = soak / bare
            print(f"   {name:<{width}} {soak:6.2f} s   {ratio:4.1f}x   {verdict(ratio, 3)}")
            # per iteration: what N iterations add to a 1-iteration run (start-up left out)
            per_long = (soak - start) / 1999 * 1000
            per_short = (short - start) / 199 * 1000
            print(
                f"   per iteration at 2,000: {per_long:.2f} ms, at 200: {per_short:.2f} ms   "
                f"{per_long / per_short:4.2f}x   {verdict(per_long / per_short, 1.5)}"
            )
        alone = min(files_alone(2000, parent) for _ in range(runs))
        print(
            f"   (context: creating those files alone, 2,000 iterations: {alone:.2f} s "
            f"= {alone / bare:.1f}x bare pytest)"
        )


# --- 3. installed but off ----------------------------------------------------------------


def bench_off(runs: int) -> None:
    print("3. installed but off: collecting 2,000 tests")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for module in range(20):
            body = "".join(f"def test_{n}():\n    pass\n\n\n" for n in range(100))
            (project / f"test_m{module}.py").write_text(body)
        without = best_of(
            runs, lambda: run_pytest(["--collect-only", "-p", "no:soakwatch"], project)
        )
        installed = best_of(runs, lambda: run_pytest(["--collect-only", *PLUGIN], project))
    print(f"   -p no:soakwatch   {without:6.3f} s   (the floor)")
    print(
        f"   installed, off    {installed:6.3f} s   {installed / without:5.3f}x   "
        f"{verdict(installed / without, 1.10)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audit-mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="best of how many runs")
    parser.add_argument("--only", choices=("audit", "iterations", "off"))
    parser.add_argument("--soak-dir", help="where the soaks write (default: the temp dir)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs\n")
    if args.only in (None, "audit"):
        bench_audit(args.audit_mb, args.runs)
    if args.only in (None, "iterations"):
        bench_iterations(args.runs, args.soak_dir)
    if args.only in (None, "off"):
        bench_off(max(args.runs, 5))


if __name__ == "__main__":
    main()
