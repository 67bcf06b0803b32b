"""Column checks of the packed-round encoder: each takes a whole column of JSON values.

A check returns the column as it is packed, or raises `NotPackableError` when a value is not
exactly of the column's type (a bool is not an int, an int is not a float).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import compress
from operator import itemgetter
from typing import Any, TypeVar

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
"""A quote's non-finite floats, as canonical JSON names them."""

Column = Sequence[Any]
C = TypeVar("C", bound=Iterable[Any])


class NotPackableError(Exception):
    """A value the columns cannot carry as it is; the body (or a plan) stays JSON only."""


Types = set[type]
_NONE = type(None)


def only(column: C, kind: type, types: Types | None = None) -> C:
    if not (set(map(type, column)) if types is None else types) <= {kind}:
        raise NotPackableError
    return column


def floats(column: Column, types: Types | None = None) -> Column:
    return only(column, float, types)


def ints(column: Column, types: Types | None = None) -> Column:
    """Ints (not bools) that fit int64."""
    if column and (
        not (set(map(type, column)) if types is None else types) <= {int}
        or min(column) < INT64_MIN
        or max(column) > INT64_MAX
    ):
        raise NotPackableError
    return column


def quote_floats(column: Column, types: Types | None = None) -> Column:
    """A quote's floats: JSON floats, or the names of non-finite ones (decoded)."""
    types = set(map(type, column)) if types is None else types
    if types <= {float}:
        return column
    if not types <= {float, str}:
        raise NotPackableError
    out = [NON_FINITE.get(v) if type(v) is str else v for v in column]
    if None in out:
        raise NotPackableError
    return out


def nullable(
    column: Column, bit: int, check: Callable[[Column, Types | None], Column], nulls: list[int]
) -> tuple[Column, list[int]]:
    """A column that may hold nulls: its values (0 for a null) and `nulls` with `bit` set on
    the null rows."""
    types = set(map(type, column))
    if _NONE not in types:
        return check(column, types), nulls
    present = [v is not None for v in column]
    values = iter(check(list(compress(column, present)), None))
    return (
        [next(values) if p else 0 for p in present],
        [n if p else n | bit for n, p in zip(nulls, present, strict=True)],
    )


class Fields:
    """The exact keys of a JSON object, in sorted order: canonical JSON's order."""

    def __init__(self, *keys: str) -> None:
        self.keys = tuple(sorted(keys))
        self.shapes = {self.keys}
        self.get = itemgetter(*self.keys)


def columns(items: Any, fields: Fields) -> list[Column]:
    """The columns (in `fields.keys` order) of a list of dicts that each have exactly those
    keys. Bodies parsed from canonical JSON hold them in that order: their values are read
    without a lookup per key."""
    if type(items) is not list:
        raise NotPackableError
    if not items:
        return [()] * len(fields.keys)
    if set(map(type, items)) != {dict}:
        raise NotPackableError
    if set(map(tuple, items)) == fields.shapes:
        return list(zip(*map(dict.values, items), strict=True))
    if set(map(len, items)) != {len(fields.keys)}:
        raise NotPackableError
    try:
        rows = list(map(fields.get, items))
    except KeyError:
        raise NotPackableError from None
    return list(zip(*rows, strict=True))


class Strings:
    """The string table: ids in order of first appearance, the same for the same body."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def column(self, texts: Column) -> list[int]:
        ids = self.ids
        for text in only(dict.fromkeys(texts), str):  # all are str when the distinct ones are
            ids.setdefault(text, len(ids))
        return list(map(ids.__getitem__, texts))

    def nullable(self, texts: Column) -> list[int]:
        """Ids of strings that may be null: -1 for a null."""
        if _NONE not in set(map(type, texts)):
            return self.column(texts)
        present = [t is not None for t in texts]
        found = iter(self.column(list(compress(texts, present))))
        return [next(found) if p else -1 for p in present]
