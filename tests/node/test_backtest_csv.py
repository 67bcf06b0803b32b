"""Specification of the backtest's input: the historical quotes CSV and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.history import HistoryError, read_history

HEADER = "timestamp,source,symbol,price"


def history_of(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quotes.csv"
    path.write_text(text)
    return path


def test_unix_milliseconds_and_iso_timestamps_are_both_read(tmp_path: Path) -> None:
    path = history_of(
        tmp_path,
        f"{HEADER}\n1700000000000,a,BTC/USD,100\n2023-11-14T22:13:21Z,b,BTC/USD,101\n"
        "2023-11-14T22:13:22,c,btc/usd,102\n2023-11-14T23:13:23+01:00,d,BTC/USD,103\n",
    )
    quotes = read_history(path).quotes
    assert [q.ts_ms for q in quotes] == [
        1_700_000_000_000,
        1_700_000_001_000,
        1_700_000_002_000,
        1_700_000_003_000,
    ]
    assert {q.symbol for q in quotes} == {"BTC/USD"}


def test_optional_columns_in_any_order_become_book_and_volume(tmp_path: Path) -> None:
    path = history_of(
        tmp_path, "volume,price,ask,bid,symbol,source,timestamp\n5,100,100.5,99.5,X/Y,a,1000\n"
    )
    (q,) = read_history(path).quotes
    assert (q.price, q.bid, q.ask, q.volume, q.source) == (100.0, 99.5, 100.5, 5.0, "a")


def test_quotes_are_sorted_by_time_and_markets_listed(tmp_path: Path) -> None:
    path = history_of(tmp_path, f"{HEADER}\n2000,b,X/Y,1\n1000,a,X/Y,1\n1500,a,Z/Y,1\n")
    history = read_history(path)
    assert [q.ts_ms for q in history.quotes] == [1000, 1500, 2000]
    assert history.markets() == {"X/Y": ["a", "b"], "Z/Y": ["a"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("timestamp,source,symbol\n", "line 1: missing column 'price'"),
        (f"{HEADER},prize\n", "line 1: unknown column 'prize'"),
        (f"{HEADER}\n1000,a,X/Y,abc\n", "line 2: price 'abc' is not a number"),
        (f"{HEADER}\n1000,a,X/Y,1\n1000,a,X/Y\n", "line 3: 3 fields, the header has 4"),
        (f"{HEADER}\nyesterday,a,X/Y,1\n", "line 2: timestamp 'yesterday' is neither"),
        (f"{HEADER}\n1000,a,XY,1\n", "line 2: symbol 'XY' is not BASE/QUOTE"),
        (f"{HEADER}\n1000,,X/Y,1\n", "line 2: source is empty"),
        (f"{HEADER}\n1000,a,X/Y,inf\n", "line 2: price 'inf' is not a finite number"),
        (f"{HEADER},bid\n1000,a,X/Y,1,x\n", "line 2: bid 'x' is not a number"),
        (f"{HEADER}\n", "no quotes after the header"),
    ],
    ids=[
        "empty",
        "missing-column",
        "unknown-column",
        "bad-price",
        "short-row",
        "bad-timestamp",
        "bad-symbol",
        "empty-source",
        "infinite-price",
        "bad-optional",
        "header-only",
    ],
)
def test_malformed_file_is_refused_with_line_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(HistoryError, match=message):
        read_history(history_of(tmp_path, text))


def test_missing_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="No such file"):
        read_history(tmp_path / "nope.csv")
