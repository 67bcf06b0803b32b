"""`to_answer`'s integer arithmetic on a float's digits gives the Decimal reference's answer."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from publisher.answer import INT192_MAX, to_answer


def decimal_answer(value: float, decimals: int) -> int:
    """The reference: the shortest round-tripping decimal, scaled, ties half to even."""
    exact = Decimal(repr(value)).scaleb(decimals)
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


@settings(max_examples=2000, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30),
    st.integers(0, 24),
)
@example(0.5, 0)
@example(1.5, 0)
@example(-2.5, 0)
@example(-0.0, 8)
@example(1.005, 2)
@example(64_123.45, 8)
@example(0.000123, 3)
@example(123456789.98765432, 4)
def test_integer_path_equals_the_decimal_reference(value: float, decimals: int) -> None:
    expected = decimal_answer(value, decimals)
    if abs(expected) <= INT192_MAX:
        assert to_answer(value, decimals) == expected


@settings(max_examples=500, deadline=None)
@given(st.integers(-(10**15), 10**15), st.integers(0, 12), st.integers(0, 12))
def test_ties_round_half_to_even_like_the_reference(digits: int, shift: int, decimals: int) -> None:
    value = float(f"{digits}e-{shift}")
    assert to_answer(value, decimals) == decimal_answer(value, decimals)
