"""Historical quotes from a CSV file, as `feeds.quote.Quote` values, for backtests.

The file has a header row naming its columns: `timestamp,source,symbol,price` are required,
`bid,ask,volume` optional, in any order. `timestamp` is unix milliseconds or ISO 8601 (a time
without an offset is UTC). Every problem is reported with its line number; nothing is
guessed: an unknown column, a missing value or a number that does not parse is an error.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.quote import Quote

REQUIRED = ("timestamp", "source", "symbol", "price")
OPTIONAL = ("bid", "ask", "volume")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class HistoryError(ValueError):
    """The quotes file cannot be used as it is. Whoever produced it fixes it; nothing was written."""


@dataclass(frozen=True, slots=True)
class History:
    """The quotes of a file, sorted by timestamp (file order among equal timestamps)."""

    quotes: tuple[Quote, ...]

    @property
    def start_ms(self) -> int:
        return self.quotes[0].ts_ms

    @property
    def end_ms(self) -> int:
        return self.quotes[-1].ts_ms

    def markets(self) -> dict[str, list[str]]:
        """Symbol -> the distinct sources quoting it, both sorted."""
        found: dict[str, set[str]] = {}
        for q in self.quotes:
            found.setdefault(q.symbol, set()).add(q.source)
        return {symbol: sorted(found[symbol]) for symbol in sorted(found)}


def read_history(path: Path) -> History:
    """Read and validate a quotes file; raises `HistoryError` naming the line and the problem."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            quotes = list(parse_quotes(f, str(path)))
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise HistoryError(f"{path}: not a CSV file ({exc})") from None
    if not quotes:
        raise HistoryError(f"{path}: no quotes after the header")
    quotes.sort(key=lambda q: q.ts_ms)
    return History(tuple(quotes))


def parse_quotes(lines: Iterable[str], name: str) -> Iterator[Quote]:
    """Quotes from CSV text lines (header first), in file order."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise HistoryError(f"{name}: empty file; expected a header {','.join(REQUIRED)}")
    columns = _columns(header, name)
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        yield _quote(row, columns, f"{name} line {reader.line_num}")


def _columns(header: list[str], name: str) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    if unknown:
        raise HistoryError(
            f"{name} line 1: unknown column {unknown[0]!r}; columns are "
            f"{', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise HistoryError(f"{name} line 1: missing column {missing[0]!r}")
    if len(set(names)) != len(names):
        raise HistoryError(f"{name} line 1: a column appears twice")
    return {n: i for i, n in enumerate(names)}


def _quote(row: list[str], columns: dict[str, int], where: str) -> Quote:
    if len(row) != len(columns):
        raise HistoryError(f"{where}: {len(row)} fields, the header has {len(columns)}")

    def cell(name: str) -> str:
        return row[columns[name]].strip() if name in columns else ""

    for name in REQUIRED:
        if not cell(name):
            raise HistoryError(f"{where}: {name} is empty")
    ts_ms = parse_timestamp(cell("timestamp"), where)
    symbol = cell("symbol")
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote:
        raise HistoryError(f"{where}: symbol {symbol!r} is not BASE/QUOTE, e.g. BTC/USD")
    return Quote(
        source=cell("source"),
        symbol=symbol.upper(),
        price=_number(cell("price"), "price", where),
        received_ts_ms=ts_ms,
        exchange_ts_ms=ts_ms,
        bid=_optional_number(cell("bid"), "bid", where),
        ask=_optional_number(cell("ask"), "ask", where),
        volume=_optional_number(cell("volume"), "volume", where),
    )


def parse_timestamp(text: str, where: str) -> int:
    """Unix milliseconds from `text`: an integer (ms) or ISO 8601 (UTC when no offset)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HistoryError(
            f"{where}: timestamp {text!r} is neither unix milliseconds nor ISO 8601"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _number(text: str, name: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HistoryError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise HistoryError(f"{where}: {name} {text!r} is not a finite number")
    return value


def _optional_number(text: str, name: str, where: str) -> float | None:
    return None if not text else _number(text, name, where)
