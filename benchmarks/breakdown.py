"""Where a soak iteration's time goes: pytest's hooks timed in one process, next to a bare item.

    python benchmarks/breakdown.py                  # 2,000 iterations, soak in the temp dir
    python benchmarks/breakdown.py --iterations 500 --soak-dir /dev/shm

Runs bare pytest on N trivial parametrized items, then a mock soak of N
iterations, each in a new directory and in this process, with a plugin that
times public hooks around each item:

- the whole item: ``pytest_runtest_protocol``;
- the mock writing its four artifacts: ``pytest_soak_run_iteration``;
- reading them back, the summary, the advice, ITER_SUMMARY_N.json and the item's
  properties: from the end of the run hook to the end of ``pytest_runtest_setup``;
- the test reports: ``pytest_runtest_logreport`` (the terminal's, and the
  plugin's TUNING_REPORT.json line and markers);
- the rest: pytest's own work for the item, and the item's bookkeeping.

Prints means per item in microseconds (the soak's gate item is left out);
asserts nothing. Start-up and the end of the session are not in these figures:
``benchmarks/run.py`` measures whole runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from run import write_bare_project

STAGES = {
    "mock": "the mock writing its four artifacts",
    "watcher": "summary, advice, ITER_SUMMARY_N.json, properties",
    "reports": "test reports (terminal, TUNING_REPORT line, markers)",
    "rest": "the rest: pytest's work and the item's",
}


class HookTimer:
    """Sums the time spent in the hooks around each timed item."""

    def __init__(self) -> None:
        self.spent = dict.fromkeys(("item", "reports", "mock", "watcher"), 0.0)
        self.items = 0
        self._run_ended = 0.0

    @staticmethod
    def timed(nodeid: str) -> bool:
        return not nodeid.endswith("::kpi_gate")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, Any]:
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            if self.timed(item.nodeid):
                self.spent["item"] += time.perf_counter() - start
                self.items += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            if self.timed(report.nodeid):
                self.spent["reports"] += time.perf_counter() - start

    @pytest.hookimpl(wrapper=True, optionalhook=True)  # no such hook in the bare run
    def pytest_soak_run_iteration(self) -> Generator[None, Any, Any]:
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            self._run_ended = time.perf_counter()
            self.spent["mock"] += self._run_ended - start

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        try:
            return (yield)
        finally:  # an observer (pytest_soak_iteration_done) would add copies of its own
            if self._run_ended:
                self.spent["watcher"] += time.perf_counter() - self._run_ended
                self._run_ended = 0.0

    def per_item(self) -> dict[str, float]:
        """Microseconds per item for each stage, ``rest`` being what no stage covers."""
        mean = {name: spent / max(self.items, 1) * 1e6 for name, spent in self.spent.items()}
        mean["rest"] = mean["item"] - sum(mean[name] for name in STAGES if name != "rest")
        return mean


@contextmanager
def quiet_in(directory: Path) -> Iterator[None]:
    """Run in ``directory`` with standard output (the file descriptor) sent to the null device."""
    sys.stdout.flush()
    saved_fd, saved_cwd = os.dup(1), Path.cwd()
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.chdir(directory)
        try:
            yield
        finally:
            os.chdir(saved_cwd)
            sys.stdout.flush()
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def timed_run(args: list[str], directory: Path) -> tuple[HookTimer, float]:
    timer = HookTimer()
    start = time.perf_counter()
    with quiet_in(directory):
        code = pytest.main(["-q", "-p", "no:cacheprovider", *args], plugins=[timer])
    took = time.perf_counter() - start
    if code != 0:  # its figures would time nothing
        sys.exit(f"pytest {' '.join(args)} exited {code}: no figures")
    return timer, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--soak-dir", help="where the soak writes (default: the temp dir)")
    args = parser.parse_args()
    # pytest alone, and pytest-soakwatch loaded by name: no other plugin's cost per item
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    n = args.iterations
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        write_bare_project(project, n)
        bare, bare_wall = timed_run(["test_bare.py"], project)
    with tempfile.TemporaryDirectory(dir=args.soak_dir) as tmp:
        soak_args = ["-p", "pytest_soakwatch.plugin", f"--soak-iterations={n}", "--soak-mock"]
        soak, soak_wall = timed_run(soak_args, Path(tmp))
    print(f"Python {sys.version.split()[0]}, pytest {pytest.__version__}, {n:,} items each")
    print(f"whole runs: bare {bare_wall:.2f} s, mock soak {soak_wall:.2f} s\n")
    ours, theirs = soak.per_item(), bare.per_item()
    width = max(len(text) for text in STAGES.values()) + 2
    print(f"{'us per item':<{width}} {'bare':>6} {'soak':>6}")
    print(f"{'whole item':<{width}} {theirs['item']:6.0f} {ours['item']:6.0f}")
    for name, text in STAGES.items():
        before = f"{theirs[name]:6.0f}" if theirs[name] or name == "rest" else f"{'-':>6}"
        print(f"  {text:<{width - 2}} {before} {ours[name]:6.0f}")


if __name__ == "__main__":
    main()
