"""The greppable ``| iter_watch | ... |`` and ``| kpi_gate | ... |`` log lines of the seed."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

_SORTED_JSON = json.JSONEncoder(sort_keys=True).encode

#: Control characters in a message, escaped: a line break would start a line of its own (a
#: forged ``| kpi_gate |`` line for a grep), an escape sequence would recolor the terminal.
_CONTROLS = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"},
    **{code: f"\\u{code:04x}" for code in (0x2028, 0x2029)},
}


def one_line(text: str) -> str:
    """``text`` as part of one marker line: control characters and line separators escaped.

    Printable text has none of them (``str.isprintable`` is false for every key of
    ``_CONTROLS``), and is most text: it skips the per-character translation.
    """
    return text if type(text) is str and text.isprintable() else text.translate(_CONTROLS)


def showable(text: str, encoding: str | None) -> str:
    """``text`` with what ``encoding`` cannot encode escaped (``→`` on a cp1252 Windows console).

    Without an encoding, or with one Python does not know, the text is left to the stream.
    """
    if not encoding:
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    return text


def print_line(line: str) -> None:
    """``print``, escaping what the console cannot show."""
    try:
        print(line)
    except UnicodeEncodeError:
        print(showable(line, getattr(sys.stdout, "encoding", None) or "ascii"))


def _soak_prefix(soak: str | None) -> str:
    return f"soak={one_line(soak)} " if soak else ""


def _net(value: float | None) -> str:
    return "n/a" if value is None else repr(value)


def iteration_markers(entry: Mapping[str, Any], soak: str | None = None) -> list[str]:
    """SUMMARY, SUGGEST and (when there is advice) RATIONALE lines for a TUNING_REPORT entry."""
    drivers = list(entry.get("neg_edge_drivers") or [])
    lines = [
        f"| iter_watch | SUMMARY | {_soak_prefix(soak)}iter={entry['iteration']} "
        f"net={_net(entry.get('net_bps'))} drivers={drivers!r} kpi={entry.get('kpi_verdict')} |"
    ]
    deltas = entry.get("suggested_deltas") or {}
    if deltas:
        lines.append(f"| iter_watch | SUGGEST | {_SORTED_JSON(deltas)} |")
        lines.append(f"| iter_watch | RATIONALE | {one_line(str(entry.get('rationale', '')))} |")
    else:
        lines.append("| iter_watch | SUGGEST | (none) |")
    return lines


def error_marker(iteration: int, message: str, soak: str | None = None) -> str:
    """The line recorded when an iteration's artifacts could not be read."""
    return f"| iter_watch | ERROR | {_soak_prefix(soak)}iter={iteration} {one_line(message)} |"


def warning_marker(iteration: int, message: str, soak: str | None = None) -> str:
    """The line recorded when an iteration is recorded, but not as the project's hook asked."""
    return f"| iter_watch | WARNING | {_soak_prefix(soak)}iter={iteration} {one_line(message)} |"


def gate_marker(verdict: str | None, reasons: Sequence[str], soak: str | None = None) -> str:
    """The seed's final ``| kpi_gate | verdict=V | reasons=[...] |`` line."""
    shown = "NONE" if verdict is None else verdict
    listed = one_line(", ".join(reasons))
    return f"| kpi_gate | {_soak_prefix(soak)}verdict={shown} | reasons=[{listed}] |"
