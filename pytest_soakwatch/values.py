"""Checks of the values handed to the library: a wrong one is a one-line :class:`SoakwatchError`.

The library's callers pass numbers from files, variables and their own code.
NaN compares false with everything (a NaN metric would pass every threshold),
a bool is an int to Python, and a number as text adds like a string: each is
refused here, naming where it came from, before it can give a quiet wrong result.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

from .errors import SoakwatchError

#: The largest finite float: an int beyond it cannot be used as one.
_LARGEST = sys.float_info.max
#: The highest iteration number the library takes: a million 30-minute iterations last 57
#: years (the plugin takes fewer: it makes every item before the first one runs).
MAX_ITERATION = 1_000_000


def shown(value: Any) -> str:
    """``repr(value)``, short: a huge int's digits are not printed (Python refuses past 4300)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        if value.bit_length() > 13_000:  # about 3,900 digits
            return "a number of thousands of digits"
        digits = str(value)
        return f"{digits[:20]}... ({len(digits.lstrip('-'))} digits)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def optional_number(value: Any, where: str) -> float | int | None:
    """A finite int or float as given, or ``None`` (missing); anything else is an error."""
    kind = type(value)  # the common cases first: this runs for every number of an iteration
    if kind is float and value - value == 0.0:  # inf - inf and nan - nan are nan
        return value  # type: ignore[no-any-return]
    if kind is int and -_LARGEST <= value <= _LARGEST:
        return value  # type: ignore[no-any-return]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SoakwatchError(f"{where}: expected a number, got {shown(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        raise SoakwatchError(f"{where}: number too large") from None
    if not finite:
        raise SoakwatchError(f"{where}: expected a finite number, got {shown(value)}")
    return value


def number(value: Any, where: str) -> float | int:
    """A finite int or float; ``None`` is an error too."""
    if value is None:
        raise SoakwatchError(f"{where}: expected a number, got None")
    checked = optional_number(value, where)
    assert checked is not None
    return checked


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: no ABC check
        raise SoakwatchError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def numbers(values: Any, where: str) -> dict[str, float | int]:
    """A mapping of names to finite numbers (overrides, deltas), as a new dict."""
    checked = dict(mapping(values, where))
    for key, value in checked.items():
        number(value, f"{where} {key}")
    return checked


def whole_number(value: Any, where: str, minimum: int, maximum: int | None = None) -> int:
    """An int (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SoakwatchError(f"{where}: expected a whole number, got {shown(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        top = "" if maximum is None else f" and <= {maximum:,}"
        got = shown(value)
        raise SoakwatchError(f"{where}: expected a whole number >= {minimum}{top}, got {got}")
    return value


def bounds(values: Any, where: str) -> dict[str, tuple[float | int, float | int]]:
    """Parameter -> ``(min, max)`` with finite numbers and ``min <= max``."""
    checked: dict[str, tuple[float | int, float | int]] = {}
    for key, pair in mapping(values, where).items():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise SoakwatchError(f"{where} {key}: expected (min, max), got {shown(pair)}")
        low, high = number(pair[0], f"{where} {key} min"), number(pair[1], f"{where} {key} max")
        if low > high:
            raise SoakwatchError(f"{where} {key}: min {low} is above max {high}")
        checked[key] = (low, high)
    return checked
