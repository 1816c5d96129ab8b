"""Drive a real program through pytest-soakwatch's runner hook.

Each iteration runs the system under test as a command, hands it the
iteration's overrides the way the seed's CI does (``MM_RUNTIME_OVERRIDES_JSON``)
and tells it where to write its artifacts. Replace ``COMMAND`` with your bot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytest_soakwatch.iteration import SoakIteration

#: The system under test; here a stand-in script next to this file.
COMMAND = [sys.executable, str(Path(__file__).with_name("fake_bot.py"))]
#: How long one iteration may run (a real soak: e.g. 30 minutes).
TIMEOUT_S = 60


def pytest_soak_run_iteration(iteration: SoakIteration) -> bool:
    env = dict(os.environ)
    env["MM_RUNTIME_OVERRIDES_JSON"] = json.dumps(dict(iteration.overrides))
    env["SOAK_ARTIFACTS_DIR"] = str(iteration.artifacts_dir)
    env["SOAK_ITERATION"] = str(iteration.index)
    subprocess.run(COMMAND, env=env, check=True, timeout=TIMEOUT_S)
    return True
