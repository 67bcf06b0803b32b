"""Decimal values become on-chain integer answers exactly, and back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from publisher.answer import from_answer, to_answer


@pytest.mark.parametrize(
    ("value", "decimals", "answer"),
    [
        (0.1, 8, 10_000_000),
        (64_123.45, 8, 6_412_345_000_000),
        (1.005, 2, 100),  # the decimal 1.005 is a tie: half to even gives 1.00
        (1.015, 2, 102),  # tie again: half to even gives 1.02
        (2.675, 2, 268),  # the float is 2.67499...; repr reads 2.675: a tie, half to even
        (-3.5, 0, -4),
        (1e-9, 8, 0),
        (123.0, 0, 123),
        (1e20, 18, 10**38),
    ],
)
def test_to_answer_is_exact(value: float, decimals: int, answer: int) -> None:
    assert to_answer(value, decimals) == answer


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_to_answer_refuses_non_finite_values(value: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        to_answer(value, 8)


def test_to_answer_refuses_values_beyond_int192() -> None:
    with pytest.raises(ValueError, match="int192"):
        to_answer(1e60, 8)


def test_from_answer_is_the_exact_decimal() -> None:
    assert from_answer(6_412_345_000_000, 8) == Decimal("64123.45")


def test_round_trip_through_the_answer_keeps_the_decimal_value() -> None:
    assert from_answer(to_answer(0.3, 8), 8) == Decimal("0.3")
