"""A node in a quorum: signs every allowed round, serves it, relays in its slots, never twice.

The chain is an in-memory fake that keeps the contract's rules that matter here (quorum,
observations newer than the newest accepted, lower median, oldest timestamp); peers are real
HTTP servers on loopback serving observations signed with their own keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from eth_account import Account

from audit.journal import Journal
from audit.verify import verify_records
from node.peers import Peer, PeerClient
from node.quorum import QuorumRelay, RelaySettings
from node.records import observation_json
from node.relay import relay_of, slot_of
from node.replay import replay_records
from node.service import OracleNode
from node.status import Receipt
from publisher.eip712 import Domain, SignedObservation
from publisher.keys import LocalSigner
from publisher.policy import LastPublished
from tests.node.fakes import CONTRACT, FakeClock, FixedQuotes, one_feed_rules

FEED = "BTC/USD"
DOMAIN = Domain(31337, CONTRACT)
SLOT_S = 30.0
PRICE = 60_000.0


@dataclass
class QuorumFakeChain:
    """One feed contract in memory, with the contract's acceptance rules for a report."""

    signer: LocalSigner
    signers: list[str]
    quorum_size: int = 3
    published: LastPublished | None = None
    newest: int = 0
    submitted: list[tuple[str | None, list[SignedObservation]]] = field(default_factory=list)
    land_before_send: LastPublished | None = None
    """Another relay lands this right after the relay gathered (the race `relay` guards)."""
    journal_kinds_at_submit: list[list[str]] = field(default_factory=list)
    journal: Journal | None = None
    crash_after_landing: bool = False
    """The node dies after the transaction landed, before it could journal the outcome."""

    @property
    def address(self) -> str:
        return self.signer.address

    def contract_address(self, feed: str) -> str | None:
        return CONTRACT

    def domain(self, feed: str) -> Domain:
        return DOMAIN

    async def latest(self, feed: str) -> LastPublished | None:
        return self.published

    async def signer_set(self, feed: str) -> list[str]:
        return list(self.signers)

    async def quorum(self, feed: str) -> int:
        return self.quorum_size

    async def newest_observation_s(self, feed: str) -> int:
        if self.land_before_send is not None and self.newest == 0 and self.published is None:
            # The first read (before gathering) sees nothing; the next sees the other relay's.
            self.published, self.land_before_send = self.land_before_send, None
            self.newest = -1
            return 0
        return max(self.newest, 0) if self.published is None else self.published.updated_at

    async def sign(self, feed: str, answer: int, timestamp_s: int) -> SignedObservation:
        return await self.signer.sign_observation(DOMAIN, answer, timestamp_s)

    def aggregate_feed(self, feed: str) -> None:
        return None  # an ECDSA feed: reports go through `submit`

    async def submit_report(
        self, feed: str, report: bytes, intent_id: str | None = None
    ) -> Receipt:
        raise AssertionError("an ECDSA feed takes observations, not a signed report")

    async def submit(
        self, feed: str, observations: Sequence[SignedObservation], intent_id: str | None = None
    ) -> Receipt:
        assert self.journal is not None
        self.journal_kinds_at_submit.append([r.kind for r in await self.journal.records()])
        assert len({o.signer for o in observations}) >= self.quorum_size
        assert all(o.timestamp > self.newest for o in observations)
        values = sorted(o.value for o in observations)
        self.published = LastPublished(
            values[(len(values) - 1) // 2], min(o.timestamp for o in observations)
        )
        self.newest = max(o.timestamp for o in observations)
        self.submitted.append((intent_id, list(observations)))
        if self.crash_after_landing:
            raise Killed
        return Receipt("0x" + "22" * 32, 9, len(self.submitted), 90_000)


class Killed(BaseException):
    """A SIGKILL, as far as the round is concerned: nothing after it runs."""


@dataclass
class Quorum:
    node: OracleNode
    chain: QuorumFakeChain
    clock: FakeClock
    quotes: FixedQuotes
    journal: Journal
    peer_keys: list[LocalSigner]
    relay: QuorumRelay


async def peer_app(key: LocalSigner, clock: FakeClock, factor: float) -> web.Application:
    async def observation(_: web.Request) -> web.Response:
        now_s = clock() // 1000
        signed = await key.sign_observation(DOMAIN, int(PRICE * factor * 1e8), now_s)
        body = {
            **observation_json(signed),
            "answer": str(signed.value),
            "feed": FEED,
            "chain_id": DOMAIN.chain_id,
            "contract": DOMAIN.verifying_contract,
        }
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/v1/feeds/{pair}/observation", observation)
    return app


def time_when_relay(me: str, signers: list[str], relay: bool) -> int:
    """A clock time (ms) in a slot whose relay is (or is not) `me`."""
    start = 1_700_000_000
    for slot in range(slot_of(start, SLOT_S), slot_of(start, SLOT_S) + 50):
        if (int(relay_of(slot, FEED, signers), 16) == int(me, 16)) == relay:
            return int(slot * SLOT_S * 1000) + 1000
    raise AssertionError("no such slot")


@pytest.fixture
async def quorum(tmp_path: Path) -> AsyncIterator[Quorum]:
    """A node with two peers (one quoting 10x) behind real loopback HTTP servers."""
    key = LocalSigner(Account.create())
    peer_keys = [LocalSigner(Account.create()) for _ in range(2)]
    signers = [key.address] + [k.address for k in peer_keys]
    clock = FakeClock(time_when_relay(key.address, signers, relay=True))
    runners = []
    peers = []
    for peer_key, factor in zip(peer_keys, (1.0, 10.0), strict=True):
        runner = web.AppRunner(await peer_app(peer_key, clock, factor))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        peers.append(Peer(f"http://127.0.0.1:{runner.addresses[0][1]}", peer_key.address))
    journal = await Journal.open(tmp_path / "j.db")
    chain = QuorumFakeChain(key, signers, journal=journal)
    client = PeerClient(peers, timeout_s=2, max_peers=8)
    relay = QuorumRelay(chain, journal, client, RelaySettings(SLOT_S, 30, 5), clock)
    quotes = FixedQuotes(clock, PRICE)
    node = OracleNode(
        rules=one_feed_rules(),
        venues={"a": [FEED], "b": [FEED], "c": [FEED]},
        fetcher=quotes,
        journal=journal,
        chain=chain,
        clock=clock,
        deadline_s=3.0,
        config_hash="cafe",
        quorum=relay,
    )
    yield Quorum(node, chain, clock, quotes, journal, peer_keys, relay)
    await client.close()
    await journal.close()
    for runner in runners:
        await runner.cleanup()


async def test_the_relay_submits_the_median_of_the_quorum_after_journaling_the_report(
    quorum: Quorum,
) -> None:
    await quorum.node.start()
    await quorum.node.run_round()
    [(intent, observations)] = quorum.chain.submitted
    assert len(observations) == 3
    assert quorum.chain.published == LastPublished(int(PRICE * 1e8), quorum.clock() // 1000)
    assert "report" in quorum.chain.journal_kinds_at_submit[0]
    assert "outcome" not in quorum.chain.journal_kinds_at_submit[0]
    assert intent == str(quorum.node.round_id)
    [report] = await quorum.journal.records(kind="report")
    assert sorted(o["from"] is not None for o in report.body["observations"]) == [True] * 3
    assert 'oracle_publish_gas_used_total{feed="BTC/USD"} 90000.0' in (
        quorum.node.metrics.render().decode()
    )


async def test_a_relay_submits_once_per_slot_even_when_the_policy_asks_again(
    quorum: Quorum,
) -> None:
    await quorum.node.start()
    await quorum.node.run_round()
    quorum.clock.advance(2)
    quorum.quotes.price = PRICE * 1.02  # a deviation, within the same slot
    await quorum.node.run_round()
    assert len(quorum.chain.submitted) == 1


async def test_a_node_that_is_not_the_relay_signs_and_serves_but_submits_nothing(
    quorum: Quorum,
) -> None:
    signers = quorum.chain.signers
    quorum.clock.now_ms = time_when_relay(quorum.chain.address, signers, relay=False)
    await quorum.node.start()
    await quorum.node.run_round()
    assert quorum.chain.submitted == []
    served = quorum.node.observations[FEED]
    assert served.observation.value == int(PRICE * 1e8)
    assert served.observation.signer == quorum.chain.address


async def test_a_node_signs_every_allowed_round_even_when_no_update_is_due(
    quorum: Quorum,
) -> None:
    quorum.chain.published = LastPublished(int(PRICE * 1e8), quorum.clock() // 1000 - 5)
    await quorum.node.start()
    await quorum.node.run_round()
    [record] = await quorum.journal.records(kind="round")
    assert record.body["feeds"][FEED]["publish"] is None
    assert record.body["feeds"][FEED]["observation"] is not None
    assert quorum.chain.submitted == []


async def test_a_node_whose_breaker_holds_serves_no_observation(quorum: Quorum) -> None:
    quorum.chain.published = LastPublished(int(PRICE * 1e8), quorum.clock() // 1000 - 5)
    await quorum.node.start()
    await quorum.node.run_round()
    assert FEED in quorum.node.observations
    quorum.clock.advance(1)
    quorum.quotes.price = PRICE * 1.5  # beyond the deviation breaker
    await quorum.node.run_round()
    assert FEED not in quorum.node.observations


async def test_a_paused_node_neither_serves_an_observation_nor_relays(quorum: Quorum) -> None:
    await quorum.node.start()
    quorum.node.request_pause(FEED, True)
    await quorum.node.run_round()
    assert FEED not in quorum.node.observations
    assert quorum.chain.submitted == []
    [record] = await quorum.journal.records(kind="round")
    assert record.body["feeds"][FEED]["observation"] is None


async def test_the_relay_stands_down_when_another_relay_lands_while_it_gathers(
    quorum: Quorum,
) -> None:
    quorum.chain.land_before_send = LastPublished(int(PRICE * 1e8), quorum.clock() // 1000 - 1)
    await quorum.node.start()
    await quorum.node.run_round()
    assert quorum.chain.submitted == []
    assert await quorum.journal.records(kind="report") == []


async def test_the_journal_of_a_relay_verifies_and_replays_exactly_across_chain_updates(
    quorum: Quorum,
) -> None:
    await quorum.node.start()
    for step in range(4):
        if step == 2:  # another relay lands a value the node then starts from
            quorum.chain.published = LastPublished(int(PRICE * 1.01e8), quorum.clock() // 1000)
            quorum.chain.newest = quorum.clock() // 1000
        quorum.clock.advance(SLOT_S)
        await quorum.node.run_round()
    records = await quorum.journal.records()
    assert [r.kind for r in records].count("chain_update") == 1
    assert verify_records(records) == []
    rules = one_feed_rules()
    assert replay_records(records, lambda _: rules).mismatches == []


async def test_a_report_left_without_outcome_by_a_crash_is_reconciled_at_restart(
    quorum: Quorum,
) -> None:
    quorum.chain.crash_after_landing = True
    await quorum.node.start()
    with pytest.raises(Killed):
        await quorum.node.run_round()
    restarted = OracleNode(
        rules=one_feed_rules(),
        venues={"a": [FEED], "b": [FEED], "c": [FEED]},
        fetcher=quorum.quotes,
        journal=quorum.journal,
        chain=quorum.chain,
        clock=quorum.clock,
        deadline_s=3.0,
        config_hash="cafe",
        quorum=quorum.relay,
    )
    await restarted.start()
    [outcome] = await quorum.journal.records(kind="outcome")
    assert outcome.body["status"] == "reconciled_landed"
    assert verify_records(await quorum.journal.records()) == []
