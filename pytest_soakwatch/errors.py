"""The one exception type that bad input raises, so callers catch one thing."""

from __future__ import annotations


class SoakKpiWarning(UserWarning):
    """An iteration's KPI verdict was WARN (or FAIL while only the final verdict gates).

    A warning, so users decide with pytest's ``filterwarnings``: ignore it, or
    make WARN fail the run with ``error::pytest_soakwatch.SoakKpiWarning``.
    """


class SoakwatchError(ValueError):
    """Bad input: a malformed artifact, an invalid override or setting.

    The message is one line that names the source (a file, a variable, an
    option), the field or line, and what is wrong.
    """
