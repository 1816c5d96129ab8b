"""Wall time of K soaks x M iterations, serial against pytest-xdist ``-n 2``.

Each iteration's runner sleeps (a stand-in for a system that runs for a
while) and then writes the simulator's artifacts. Prints the figures; asserts
nothing. Usage: ``python benchmarks/parallel_soaks.py [--soaks K] [--iterations M]
[--sleep S] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFTEST = """
import time
from pytest_soakwatch.simulator import simulate_iteration

def pytest_soak_run_iteration(iteration):
    time.sleep({sleep})
    simulate_iteration(iteration.artifacts_dir, iteration.overrides, iteration=iteration.index,
                       scenario=iteration.soak.split("_")[0], seed=0)
    return True
"""
SCENARIOS = ("calm", "volatile", "spike")


def run(project: Path, soaks: int, iterations: int, extra: list[str]) -> float:
    names = [f"--soak-name={SCENARIOS[k % 3]}_{k}" for k in range(soaks)]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [f"--soak-iterations={iterations}", *names, *extra]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    # exit 1 is a soak whose verdict is FAIL (the spike scenario's); anything else is no soak
    if done.returncode not in (0, 1) or " passed" not in done.stdout:
        sys.exit(f"pytest exited {done.returncode}, no soak was timed:\n{done.stdout}{done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soaks", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "conftest.py").write_text(CONFTEST.format(sleep=args.sleep))
        serial = min(run(project, args.soaks, args.iterations, []) for _ in range(args.repeat))
        parallel = min(
            run(project, args.soaks, args.iterations, ["-n", "2"]) for _ in range(args.repeat)
        )
    slept = args.soaks * args.iterations * args.sleep
    print(f"{args.soaks} soaks x {args.iterations} iterations, runner sleeps {args.sleep}s")
    print(f"  sleeping alone (the floor of a serial run): {slept:6.2f} s")
    print(f"  serial:  {serial:6.2f} s")
    ratio = parallel / serial
    print(f"  -n 2:    {parallel:6.2f} s   ({ratio:.2f}x serial; best of {args.repeat})")


if __name__ == "__main__":
    main()
