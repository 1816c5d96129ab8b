"""pytest-xdist: each soak runs in order on one worker; soaks and ordinary tests spread.

xdist lets a plugin supply the scheduler. Ours is xdist's scope scheduler
with one grouping rule: a soak's items, and the user tests that check its
iterations, form one scope (sent to one worker, in order); every other test
keeps the grouping of the ``--dist`` mode in use. It does not rely on
``--dist loadgroup`` (which stops grouping on pytest 9.2) nor on changing
``config.option.dist`` (which does not reach the workers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

ROOT = "soakwatch"
#: dist modes whose tests may be regrouped; "each" and "no" are left alone.
REGROUPED = ("load", "loadscope", "loadfile", "loadgroup", "worksteal")
_ITERATION_ID = re.compile(r"iter\d+")


def soak_scope(nodeid: str, names: Iterable[str]) -> str | None:
    """The soak a node id belongs to (``soakwatch::NAME``), or ``None``.

    Soak items are ``soakwatch::NAME::...``; a user test checking iteration K
    of soak NAME carries the parameter id ``NAME-iterK``.
    """
    if nodeid.startswith(ROOT + "::"):
        return ROOT + "::" + nodeid.split("::")[1]
    if nodeid.endswith("]") and "[" in nodeid:
        ids = nodeid[nodeid.index("[") + 1 : -1].split("-")  # soak names have no "-"
        known = set(names)
        for name, after in zip(ids, ids[1:], strict=False):
            if name in known and _ITERATION_ID.fullmatch(after):
                return ROOT + "::" + name
    return None


def _mode_scope(nodeid: str, dist: str) -> str:
    """The scope the chosen ``--dist`` mode would give a test that is not part of a soak."""
    if dist == "loadfile":
        return nodeid.split("::", 1)[0]
    if dist == "loadscope":
        return nodeid.rsplit("::", 1)[0]
    if dist == "loadgroup" and "@" in nodeid:
        return nodeid.rsplit("@", 1)[-1]
    return nodeid


def make_scheduler(config: pytest.Config, log: Any, names: list[str]) -> Any:
    """The scheduler for this run, or ``None`` to leave the choice to xdist."""
    dist = str(config.getvalue("dist"))
    if dist not in REGROUPED:
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped,import-not-found,unused-ignore]

    class SoakScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return soak_scope(nodeid, names) or _mode_scope(nodeid, dist)

    return SoakScheduling(config, log)
