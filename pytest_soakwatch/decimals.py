"""Exact decimal arithmetic on JSON numbers: 0.14 + 0.02 is 0.16, not 0.16000000000000003."""

from __future__ import annotations

from decimal import Context, Decimal

#: Our own context: a caller's ``decimal.getcontext()`` (its precision, its traps) stays theirs.
#: Forty digits hold any sum of two floats' shortest forms exactly.
_EXACT = Context(prec=40)


def to_decimal(value: float) -> Decimal:
    """The decimal a person reads in the file (``repr`` of a float is its shortest form)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def exact_sum(base: float, delta: float) -> float:
    """``base + delta`` without binary rounding noise; ints stay ints."""
    if isinstance(base, int) and isinstance(delta, int):
        return base + delta
    return from_decimal(_EXACT.add(to_decimal(base), to_decimal(delta)))


def from_decimal(value: Decimal) -> float:
    """A float whose repr is the decimal's shortest form; whole numbers stay floats."""
    return float(value)
