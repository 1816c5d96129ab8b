"""The one exception type that bad input raises, so callers catch one thing."""

from __future__ import annotations

from .markers import one_line


class SoakKpiWarning(UserWarning):
    """An iteration's KPI verdict was WARN (or FAIL while only the final verdict gates).

    A warning, so users decide with pytest's ``filterwarnings``: ignore it, or
    make WARN fail the run with ``error::pytest_soakwatch.SoakKpiWarning``.
    """


RUN_HOOK = "pytest_soak_run_iteration"


class RunnerError(Exception):
    """A project's hook raised while an iteration ran; carries a traceback of its code only.

    ``hook`` names it (``pytest_soak_run_iteration``, or the observer
    ``pytest_soak_iteration_done``); ``summary`` is one line for logs; ``str()``
    adds the frames outside pytest, pluggy and this package, so the user sees
    their own code, not ours.
    """

    def __init__(self, cause: BaseException, hook: str = RUN_HOOK) -> None:
        import traceback

        internal = ("_pytest", "pluggy", "pytest_soakwatch")
        frames = [
            frame
            for frame in traceback.extract_tb(cause.__traceback__)
            if not any(
                f"{part}" in frame.filename.replace("\\", "/").split("/") for part in internal
            )
        ]
        self.hook = hook
        # one line: a message's own line break must not start a line (a forged marker)
        self.summary = one_line(
            "".join(traceback.format_exception_only(type(cause), cause)).strip()
        )
        detail = "".join(traceback.format_list(frames))
        super().__init__(f"{hook} raised:\n{detail}{self.summary}")

    @property
    def problem(self) -> str:
        """One line: who raised what."""
        who = "the runner" if self.hook == RUN_HOOK else self.hook
        return f"{who} raised {self.summary}"


class SoakwatchError(ValueError):
    """Bad input: a malformed artifact, an invalid override or setting.

    The message is one line that names the source (a file, a variable, an
    option), the field or line, and what is wrong.
    """
