"""Specification of the live round: journal before send, outcomes after, failures kept."""

from __future__ import annotations

from pathlib import Path

from audit.journal import Journal, verify_chain
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node


async def test_round_is_journaled_with_its_signature_before_the_transaction_is_sent(
    tmp_path: Path,
) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    chain = RecordingChain(journal)
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), chain)
    await node.start()
    await node.run_round()
    rounds = await journal.records(kind="round")
    outcomes = await journal.records(kind="outcome")
    await journal.close()
    assert chain.rounds_journaled_at_submit == [1]
    observation = rounds[0].body["feeds"]["BTC/USD"]["observation"]
    assert observation["signature"] == "0x" + chain.submitted[0].signature.hex()
    assert [o.body["status"] for o in outcomes] == ["confirmed"]
    assert outcomes[0].body["tx_hash"] == "0x" + "11" * 32


async def test_unmoved_price_is_not_republished_before_the_heartbeat(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    quotes = FixedQuotes(clock, 60_000.0)
    chain = RecordingChain(journal)
    node = make_node(journal, clock, quotes, chain)
    await node.start()
    for _ in range(3):
        await node.run_round()
        clock.advance(10)
    quotes.price = 60_000.0 * 1.006
    await node.run_round()
    await journal.close()
    assert [o.value for o in chain.submitted] == [6_000_000_000_000, 6_036_000_000_000]


async def test_failed_publication_is_journaled_and_the_node_goes_on(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    chain = RecordingChain(journal, fail=True)
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), chain)
    await node.start()
    await node.run_round()
    clock.advance(10)
    await node.run_round()
    outcomes = await journal.records(kind="outcome")
    problems = verify_chain(await journal.records())
    await journal.close()
    assert [o.body["status"] for o in outcomes] == ["failed", "failed"]
    assert "fund it" in outcomes[0].body["error"]
    assert node.status["BTC/USD"].publish_error is not None
    assert problems == []


async def test_round_ids_continue_from_the_journal_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    for expected in (1, 2):
        journal = await Journal.open(tmp_path / "j.db")
        node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), None)
        await node.start()
        await node.run_round()
        await journal.close()
        assert node.round_id == expected
