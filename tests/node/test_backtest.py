"""Specification of `oracle-node backtest` on CSV files the tests generate."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from node.cli import main

T0 = 1_700_000_000_000
HEADER = ["timestamp", "feed", "value", "published", "breaker", "sources_used", "sources_rejected"]
Price = Callable[[int, str], float | None]


def write_quotes(
    path: Path, steps: int, price: Price, sources: str = "abcd", symbol: str = "BTC/USD"
) -> Path:
    """One quote per source every 5 s; `price(step, source)` None leaves the quote out."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "source", "symbol", "price", "volume"])
        for i in range(steps):
            for s in sources:
                p = price(i, s)
                if p is not None:
                    w.writerow([T0 + i * 5000, s, symbol, f"{p:.6f}", "1.5"])
    return path


def calm(seed: int = 1) -> Price:
    rnd = random.Random(seed)
    return lambda i, s: 100.0 * math.exp(0.0002 * i) * (1 + rnd.gauss(0, 0.0003))


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "rounds.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


def backtest(tmp_path: Path, quotes: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    code = main(["backtest", "--quotes", str(quotes), "--out", str(out), *extra])
    return code, out


def test_one_row_per_feed_per_round_with_the_designed_header(tmp_path: Path) -> None:
    quotes = write_quotes(tmp_path / "q.csv", 40, calm())
    write_quotes(tmp_path / "eth.csv", 40, calm(2), symbol="ETH/USD")
    merged = tmp_path / "both.csv"
    merged.write_text(
        quotes.read_text() + "".join((tmp_path / "eth.csv").read_text().splitlines(True)[1:])
    )
    code, out = backtest(tmp_path, merged)
    table = rows(out)
    assert code == 0
    assert len(table) == 2 * 20  # 195 s of quotes, a round every 10 s from the first quote
    assert {r["feed"] for r in table} == {"BTC/USD", "ETH/USD"}
    assert table[0]["published"] == "true"
    assert {r["published"] for r in table} == {"true", "false"}
    assert {r["breaker"] for r in table} == {"closed"}
    assert table[0]["sources_used"] == "a;b;c;d"


def test_interval_sets_the_round_spacing(tmp_path: Path) -> None:
    code, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 40, calm()), "--interval", "30")
    stamps = [int(r["timestamp"]) for r in rows(out)]
    assert code == 0
    assert stamps == [T0 + k * 30_000 for k in range(7)]


def test_a_lying_source_is_rejected_as_an_outlier(tmp_path: Path) -> None:
    base = calm()

    def price(i: int, s: str) -> float:
        return base(i, s) * (1.5 if s == "d" and 10 <= i < 20 else 1.0)

    _, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 40, price))
    during = rows(out)[6]
    assert during["sources_used"] == "a;b;c"
    assert during["sources_rejected"] == "d:outlier"
    assert during["breaker"] == "closed"


def test_a_sustained_market_move_is_held_then_followed(tmp_path: Path) -> None:
    base = calm()

    def price(i: int, s: str) -> float:
        return base(i, s) * (1.25 if i >= 20 else 1.0)

    _, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 60, price))
    after = rows(out)[10:15]
    assert [r["breaker"] for r in after] == ["open", "open", "half_open", "half_open", "half_open"]
    assert [r["published"] for r in after] == ["false", "false", "true", "false", "false"]
    assert rows(out)[-1]["breaker"] == "closed"


def test_a_one_round_spike_of_every_venue_is_never_published(tmp_path: Path) -> None:
    base = calm()

    def price(i: int, s: str) -> float:
        return base(i, s) * (1.3 if i in (20, 21) else 1.0)

    _, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 40, price))
    spike = rows(out)[10]
    assert (spike["breaker"], spike["published"]) == ("open", "false")
    assert rows(out)[11]["breaker"] == "half_open"


def test_fewer_sources_than_the_default_quorum_give_no_value(tmp_path: Path) -> None:
    _, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 10, calm(), sources="ab"))
    first = rows(out)[0]
    assert first["value"] == ""
    assert first["published"] == "false"
    assert first["sources_rejected"] == "a:quorum;b:quorum"


def test_a_config_chooses_feeds_estimator_and_breaker(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        """
[venues.a]
[venues.b]
[venues.c]
[node]
round_interval_s = 20
[[feeds]]
id = "BTC/USD"
sources = ["a:BTC/USD", "b:BTC/USD", "c:BTC/USD"]
[feeds.aggregation]
quorum = 2
estimator = "trimmed_mean"
filters = ["iqr", "median_distance"]
[feeds.breaker]
max_deviation = 0.5
"""
    )
    quotes = write_quotes(tmp_path / "q.csv", 40, calm())
    code, out = backtest(tmp_path, quotes, "--config", str(config))
    table = rows(out)
    assert code == 0
    assert len(table) == 10
    assert {r["sources_used"] for r in table} == {"a;b;c"}


def test_report_is_self_contained_html_with_a_chart_per_feed(tmp_path: Path) -> None:
    _, out = backtest(tmp_path, write_quotes(tmp_path / "q.csv", 40, calm()))
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1
    assert "<script" not in page
    assert "src=" not in page
    assert "href=" not in page


def test_same_input_gives_byte_identical_rounds(tmp_path: Path) -> None:
    quotes = write_quotes(tmp_path / "q.csv", 40, calm())
    main(["backtest", "--quotes", str(quotes), "--out", str(tmp_path / "one")])
    main(["backtest", "--quotes", str(quotes), "--out", str(tmp_path / "two")])
    assert (tmp_path / "one" / "rounds.csv").read_bytes() == (
        tmp_path / "two" / "rounds.csv"
    ).read_bytes()


def test_malformed_csv_fails_with_its_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quotes = tmp_path / "q.csv"
    quotes.write_text("timestamp,source,symbol,price\n1000,a,X/Y,1\n2000,a,X/Y,one\n")
    code, out = backtest(tmp_path, quotes)
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"oracle-node: {quotes} line 3: price 'one' is not a number"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["q.csv"]


def test_a_failed_run_leaves_an_earlier_output_untouched(tmp_path: Path) -> None:
    good = write_quotes(tmp_path / "q.csv", 10, calm())
    _, out = backtest(tmp_path, good)
    before = (out / "rounds.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,source,symbol,price\n1000,a,X/Y,\n")
    assert backtest(tmp_path, bad)[0] == 2
    assert (out / "rounds.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out", "q.csv"]


def test_progress_goes_to_stderr_only_when_asked_off_a_tty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quotes = write_quotes(tmp_path / "q.csv", 20, calm())
    main(["backtest", "--quotes", str(quotes), "--out", str(tmp_path / "quiet")])
    quiet = capsys.readouterr()
    main(["backtest", "--quotes", str(quotes), "--out", str(tmp_path / "loud"), "--progress"])
    loud = capsys.readouterr()
    assert "rounds" not in quiet.err
    assert "100% 10/10 rounds" in loud.err
    assert "backtest [" not in loud.out


def test_json_summary_for_machines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quotes = write_quotes(tmp_path / "q.csv", 20, calm())
    main(["backtest", "--quotes", str(quotes), "--out", str(tmp_path / "o"), "--json"])
    assert '"rounds": 10' in capsys.readouterr().out
