"""Specification of replay: a journal re-planned reproduces every value and decision exactly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.journal import Journal
from audit.verify import verify_records
from circuit_breakers import DeviationParams
from node.pipeline import FeedRule, RoundRules
from node.replay import replay_records
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node, one_feed_rules

# A path with a quiet start, a jump the breaker holds then follows, and a spike it rejects.
PRICES = [60_000.0, 60_100.0, 60_500.0, 75_000.0, 75_100.0, 75_200.0, 75_300.0, 120_000.0, 75_400.0]


async def journal_of_a_run(
    path: Path, prices: list[float] = PRICES, restart_at: int | None = None
) -> None:
    clock = FakeClock()
    quotes = FixedQuotes(clock, prices[0])
    journal = await Journal.open(path)
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    await node.start()
    for i, price in enumerate(prices):
        if i == restart_at:
            node = make_node(journal, clock, quotes, RecordingChain(journal))
            await node.start()
        quotes.price = price
        await node.run_round()
        clock.advance(10)
    await journal.close()


async def read(path: Path) -> list:  # type: ignore[type-arg]
    journal = await Journal.open(path)
    records = await journal.records()
    await journal.close()
    return records


async def test_replay_reproduces_every_recorded_value_and_decision(tmp_path: Path) -> None:
    await journal_of_a_run(tmp_path / "j.db")
    records = await read(tmp_path / "j.db")
    report = replay_records(records, lambda _: one_feed_rules())
    assert report.mismatches == []
    assert report.rounds == len(PRICES)
    tally = report.feeds["BTC/USD"]
    assert tally.holds >= 3
    assert tally.publications == tally.replay_publications


async def test_replay_across_a_node_restart_is_still_exact(tmp_path: Path) -> None:
    await journal_of_a_run(tmp_path / "j.db", restart_at=4)
    records = await read(tmp_path / "j.db")
    assert [r.kind for r in records].count("session") == 2
    assert replay_records(records, lambda _: one_feed_rules()).mismatches == []


async def test_replay_under_other_rules_reports_each_difference_by_round(tmp_path: Path) -> None:
    await journal_of_a_run(tmp_path / "j.db")
    records = await read(tmp_path / "j.db")
    report = replay_records(records, lambda _: one_feed_rules(on_chain=False))
    assert report.mismatches
    assert {m.field for m in report.mismatches} == {"publish"}
    assert report.mismatches[0].round_id == 1


async def test_what_if_with_a_tighter_breaker_reports_more_holds_and_fewer_publications(
    tmp_path: Path,
) -> None:
    await journal_of_a_run(tmp_path / "j.db")
    records = await read(tmp_path / "j.db")
    base = one_feed_rules().feeds[0]
    tight = RoundRules.build(
        [
            FeedRule(
                base.spec,
                DeviationParams(max_deviation=0.005, confirm_rounds=5),
                base.policy,
                base.decimals,
                True,
            )
        ]
    )
    report = replay_records(records, lambda _: tight, what_if=True)
    tally = report.feeds["BTC/USD"]
    assert report.mismatches == []
    assert tally.replay_holds > tally.holds
    assert tally.replay_publications < tally.publications
    assert tally.value_differs == 0
    spent, estimate = report.gas_estimate("BTC/USD")
    assert spent == 50_000 * tally.publications
    assert estimate == 50_000 * tally.replay_publications


async def test_window_limits_what_is_compared_but_not_the_state(tmp_path: Path) -> None:
    await journal_of_a_run(tmp_path / "j.db")
    records = await read(tmp_path / "j.db")
    start = records[0].ts_ms + 45_000
    report = replay_records(records, lambda _: one_feed_rules(), from_ms=start)
    assert report.mismatches == []
    assert report.rounds == len(PRICES) - 5


def tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER records_no_update")
    conn.execute("DROP TRIGGER records_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (
            [
                "UPDATE records SET body = replace(body, '\"value\":60100.0', '\"value\":60200.0') WHERE round_id = 2 AND kind = 'round'"
            ],
            "round 2",
        ),
        (["DELETE FROM records WHERE round_id = 3"], "round 4"),
        (
            [
                "UPDATE records SET seq = -1 WHERE seq = 3",
                "UPDATE records SET seq = 3 WHERE seq = 4",
                "UPDATE records SET seq = 4 WHERE seq = -1",
            ],
            "record 3",
        ),
        (
            [
                "UPDATE records SET body = replace(body, '\"signature\":\"0x', '\"signature\":\"0x00') WHERE round_id = 1 AND kind = 'round'"
            ],
            "round 1",
        ),
    ],
    ids=["edited-price", "deleted-rows", "reordered-rows", "forged-signature"],
)
async def test_each_kind_of_tampering_is_found_and_placed(
    tmp_path: Path, statements: list[str], expected: str
) -> None:
    await journal_of_a_run(tmp_path / "j.db")
    assert verify_records(await read(tmp_path / "j.db")) == []
    tamper(tmp_path / "j.db", *statements)
    findings = verify_records(await read(tmp_path / "j.db"))
    assert findings
    assert expected in str(findings[0])


async def test_export_writes_flat_parquet_tables_traceable_to_records(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from audit.export import export_parquet

    await journal_of_a_run(tmp_path / "j.db")
    records = await read(tmp_path / "j.db")
    counts = export_parquet(records, tmp_path / "out")
    rounds = pq.read_table(tmp_path / "out" / "rounds.parquet").to_pylist()
    quotes = pq.read_table(tmp_path / "out" / "quotes.parquet").to_pylist()
    assert counts == {
        "rounds": len(PRICES),
        "quotes": 3 * len(PRICES),
        "publications": counts["publications"],
    }
    assert [r["value"] for r in rounds] == PRICES
    assert rounds[3]["allowed"] is False
    assert {q["source"] for q in quotes} == {"a", "b", "c"}
    by_seq = {r.seq: r.hash for r in records}
    assert all(by_seq[r["seq"]] == r["record_hash"] for r in rounds)


WHAT_IF_CONFIG = """
[venues.a]
[venues.b]
[venues.c]
[defaults.breaker]
max_deviation = 0.001
[[feeds]]
id = "BTC/USD"
sources = ["a:BTC/USD", "b:BTC/USD", "c:BTC/USD"]
"""


def test_what_if_command_writes_a_report_and_json_with_the_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import json

    from node.cli import main

    asyncio.run(journal_of_a_run(tmp_path / "j.db"))
    (tmp_path / "what-if.toml").write_text(WHAT_IF_CONFIG)
    code = main(
        ["replay", "--journal", str(tmp_path / "j.db"), "--config", str(tmp_path / "what-if.toml"),
         "--json", "--out", str(tmp_path / "out")]
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    html = (tmp_path / "out" / "report.html").read_text()
    assert code == 0
    assert result["mode"] == "what-if"
    assert (
        result["feeds"]["BTC/USD"]["replay_breaker_holds"]
        > result["feeds"]["BTC/USD"]["breaker_holds"]
    )
    assert "BTC/USD (what-if)" in html
    assert "BTC/USD (recorded)" in html
    assert "<svg" in html


def test_replay_of_a_missing_journal_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from node.cli import main

    assert main(["replay", "--journal", str(tmp_path / "absent.db")]) == 2
    assert "no such journal" in capsys.readouterr().err


async def test_replay_applies_an_operators_breaker_reset_where_the_node_did(tmp_path: Path) -> None:
    clock = FakeClock()
    quotes = FixedQuotes(clock, 60_000.0)
    journal = await Journal.open(tmp_path / "j.db")
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    await node.start()
    for i, price in enumerate([60_000.0, 90_000.0, 90_100.0, 90_200.0, 90_300.0]):
        if i == 2:
            node.request_breaker_reset("BTC/USD")
        quotes.price = price
        await node.run_round()
        clock.advance(10)
    records = await journal.records()
    await journal.close()
    assert [r.kind for r in records].count("breaker_reset") == 1
    assert replay_records(records, lambda _: one_feed_rules()).mismatches == []
    without_reset = [r for r in records if r.kind != "breaker_reset"]
    assert replay_records(without_reset, lambda _: one_feed_rules()).mismatches
