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
    if dot and "e" not in fraction:
        # Plain notation: the Decimal path's result in integers on the digits (property
        # tests), without building a Decimal per answer.
        digits = int(whole + fraction)  # "-0.5" reads as -5; the sign goes with the digits
        drop = len(fraction) - decimals
        answer: int
        if drop <= 0:
            answer = digits * 10**-drop
        else:
            unit: int = 10**drop
            answer, rest = divmod(abs(digits), unit)
            if 2 * rest > unit or (2 * rest == unit and answer & 1):  # ties to even
                answer += 1
            if digits < 0:
                answer = -answer
    else:  # exponent notation, or not finite
        exact = Decimal(text)
        if not exact.is_finite():
            raise ValueError(f"cannot publish a non-finite value: {value!r}")
        answer = int(exact.scaleb(decimals).to_integral_value(rounding=ROUND_HALF_EVEN))
    if not INT192_MIN <= answer <= INT192_MAX:
        raise ValueError(f"{value!r} with {decimals} decimals does not fit int192")
    return answer


def from_answer(answer: int, decimals: int) -> Decimal:
    """The exact decimal value of an on-chain `answer`."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    return Decimal(answer).scaleb(-decimals)
