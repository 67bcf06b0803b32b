"""Conversion between a feed's decimal value and the integer answer stored on chain.

`to_answer` goes through the shortest decimal that round-trips the float (`repr`), so
`to_answer(0.1, 8) == 10_000_000` exactly instead of the binary float's 9_999_999.999...;
ties round half to even. `from_answer` is exact (a Decimal).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

INT192_MIN = -(2**191)
INT192_MAX = 2**191 - 1


def to_answer(value: float, decimals: int) -> int:
    """The int192 answer for `value` with `decimals` decimal places."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    text = repr(value)
    whole, dot, fraction = text.partition(".")
    if dot and "e" not in fraction:  # plain notation: integer arithmetic on the digits
        answer = _scaled(whole, fraction, decimals)
    else:  # exponent notation, or not finite
        exact = Decimal(text)
        if not exact.is_finite():
            raise ValueError(f"cannot publish a non-finite value: {value!r}")
        answer = int(exact.scaleb(decimals).to_integral_value(rounding=ROUND_HALF_EVEN))
    if not INT192_MIN <= answer <= INT192_MAX:
        raise ValueError(f"{value!r} with {decimals} decimals does not fit int192")
    return answer


def _scaled(whole: str, fraction: str, decimals: int) -> int:
    """int(whole.fraction x 10**decimals), ties half to even: the Decimal path's result
    (property tests), without building a Decimal per answer."""
    negative = whole.startswith("-")
    magnitude: int
    digits = int(whole.lstrip("-") + fraction)
    drop = len(fraction) - decimals
    if drop <= 0:
        magnitude = digits * 10**-drop
    else:
        magnitude, rest = divmod(digits, 10**drop)
        twice = 2 * rest
        half = 10**drop
        if twice > half or (twice == half and magnitude % 2):
            magnitude += 1
    return -magnitude if negative else magnitude


def from_answer(answer: int, decimals: int) -> Decimal:
    """The exact decimal value of an on-chain `answer`."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    return Decimal(answer).scaleb(-decimals)
