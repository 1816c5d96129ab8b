"""Instructions per soak iteration, counted by valgrind's callgrind: the same figure on every run.

    python benchmarks/instructions.py                      # this checkout
    python benchmarks/instructions.py --against ../base    # and another checkout, to compare
    python benchmarks/instructions.py --soak-arg=--soak-auto-tune

Wall time on a shared machine varies by 5-10% from one run to the next, more than
most changes to the plugin; the number of instructions a run executes does not
(the hash seed is fixed and bytecode is compiled before counting). Each figure is
what N more items add to a run of one item, so start-up is left out. Only user
space is counted: the kernel's share (creating the files) is not in it, and an
instruction of the hashing or the regex engine is not worth one of the
interpreter's. For comparing changes; the goals are timed by ``run.py``.
The third figure is the soak's shell: the same soak with each iteration's
work (the mock, reading its files back, ITER_SUMMARY_N.json) replaced by a
record made once, so that what is left is pytest, the item and the reporting.
Needs valgrind (Linux, macOS).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from run import ALONE, HERE, PLUGIN, PYTEST, write_bare_project

#: One hash seed: set and dict layouts, hence the instructions, are the same on every run.
FIXED = {**ALONE, "PYTHONHASHSEED": "0"}


#: A plugin (``-p soakwatch_shell``) that makes each iteration return one record made at start.
SHELL = """
import pathlib, tempfile
from pytest_soakwatch import runner, simulator, watcher
from pytest_soakwatch.gate import Outcome

made = pathlib.Path(tempfile.mkdtemp(dir="."))
simulator.simulate_iteration(made, {}, iteration=1)
RECORD = watcher.evaluate_iteration(1, made)
RECORD.update(soak="default", overrides_source="defaults")


def run(self, index):
    summary = RECORD["summary"]
    self.outcomes[index] = Outcome(summary["kpi_verdict"], tuple(summary["kpi_reasons"]))
    return RECORD


runner.SoakRunner.run = run
"""


def pytest_run(args: list[str], cwd: Path, path: list[Path], counted: bool) -> int:
    """pytest in ``cwd``, importing from ``path`` first; the instructions it executed when
    ``counted`` (else 0)."""
    env = {**FIXED, "PYTHONPATH": os.pathsep.join(map(str, path))} if path else FIXED
    command = [*PYTEST, *args]
    if counted:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.devnull}", *command]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    if not counted:
        return 0
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        sys.exit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found[1])


def per_item(items: int, run: Callable[[int, bool], int]) -> float:
    """What ``items`` more items add to a run of one, per item (after a run that compiles)."""
    run(1, False)
    return (run(items + 1, True) - run(1, True)) / items


def bare(items: int) -> float:
    def run(n: int, counted: bool) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            write_bare_project(project, n)
            return pytest_run(["test_bare.py"], project, [], counted)

    return per_item(items, run)


def soak(items: int, checkout: Path, extra: list[str], shell: bool = False) -> float:
    def run(n: int, counted: bool) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            args = [*PLUGIN, f"--soak-iterations={n}", "--soak-mock", *extra]
            if shell:
                (Path(tmp) / "soakwatch_shell.py").write_text(SHELL)
                args = ["-p", "soakwatch_shell", *args]
            return pytest_run(args, Path(tmp), [checkout, Path(tmp)], counted)

    return per_item(items, run)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def checkout(text: str) -> Path:
    path = Path(text).resolve()
    if not (path / "pytest_soakwatch" / "plugin.py").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no pytest_soakwatch/plugin.py there")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--items", type=positive, default=200, help="iterations (bare items) counted; default 200"
    )
    parser.add_argument("--against", type=checkout, help="another checkout of pytest-soakwatch")
    parser.add_argument(
        "--soak-arg",
        action="append",
        default=[],
        help="an option for each soak, with '=': --soak-arg=--soak-auto-tune",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: it counts the instructions")
    print(f"instructions per iteration, or per bare item (callgrind; {args.items} counted)")
    floor = bare(args.items)
    print(f"   {'bare pytest':<40} {floor:12,.0f}")

    def show(label: str, count: float) -> None:
        print(f"   {label:<40} {count:12,.0f}   {count / floor:5.2f}x bare")

    ours = soak(args.items, HERE.parent, args.soak_arg)
    show("mock soak, this checkout", ours)
    show(
        "its shell (each iteration one record)", soak(args.items, HERE.parent, args.soak_arg, True)
    )
    if args.against is not None:
        other = soak(args.items, args.against, args.soak_arg)
        show(f"mock soak, {args.against}", other)
        print(f"   this checkout against it: {(ours - other) / other * 100:+.2f}%")


if __name__ == "__main__":
    main()
