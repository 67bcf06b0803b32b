"""Co-signing an aggregate feed's report: members check everything and sign once; the relay
gathers the shares over HTTP and names any member that fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from eth_account import Account
from web3 import AsyncWeb3
from web3.providers.eth_tester import AsyncEthereumTesterProvider

from node.cosign import AggregateFeed, CoSigner, CosignRefusal, Freshness
from node.cosign_relay import CosignFailure, Judge, cosign, cosign_until_done
from node.http_cosign import add_cosign_routes
from node.peers import Peer, PeerClient
from node.relay import Report
from publisher.eip712 import Domain, SignedObservation
from publisher.feed_contract import FeedContract
from publisher.keys import LocalSigner
from publisher.policy import PublishReason
from publisher.schnorr import SchnorrSigner

FEED = "BTC/USD"
NOW = 1_700_000_000
FRESH = Freshness(max_age_s=30, max_future_s=5)


@dataclass
class Member:
    ecdsa: LocalSigner
    schnorr: SchnorrSigner


def members(count: int) -> list[Member]:
    accounts = [Account.create() for _ in range(count)]
    return [Member(LocalSigner(a), SchnorrSigner(bytes(a.key))) for a in accounts]


def feed_of(group: Sequence[Member], quorum: int, domain: Domain) -> AggregateFeed:
    return AggregateFeed(
        tuple(m.schnorr.address for m in group),
        tuple(m.schnorr.key for m in group),
        quorum,
        domain,
    )


def cosigner(
    member: Member, feed: AggregateFeed, *, serving: bool = True, now: list[float] | None = None
) -> CoSigner:
    clock = now if now is not None else [float(NOW)]
    return CoSigner(member.schnorr, {FEED: feed}, lambda _: serving, FRESH, lambda: clock[0])


async def observe(
    group: Sequence[Member], domain: Domain, values: Sequence[int], ts: int = NOW
) -> list[SignedObservation]:
    return [
        await m.ecdsa.sign_observation(domain, v, ts) for m, v in zip(group, values, strict=True)
    ]


def raw(observations: Sequence[SignedObservation]) -> list[dict[str, object]]:
    from node.records import observation_json

    return [observation_json(o) for o in observations]


DOMAIN = Domain(31337, "0x" + "42" * 20)
STRICT = Freshness(max_age_s=20, max_future_s=2)
"""The relay's own window: narrower than the members' (FRESH), as node/app.py sets them."""


def judge(feed: AggregateFeed, now: float = NOW) -> Judge:
    return Judge(feed, STRICT, lambda: now)


@pytest.fixture
async def served() -> AsyncIterator[list[TestServer]]:
    servers: list[TestServer] = []
    yield servers
    for server in servers:
        await server.close()


async def serve(cosigners: Sequence[CoSigner], servers: list[TestServer]) -> dict[str, Peer]:
    peers = {}
    for member in cosigners:
        app = web.Application()
        add_cosign_routes(app, member)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        peers[member.address] = Peer(str(server.make_url("")), member.address)
    return peers


async def test_members_co_sign_over_http_and_the_contract_accepts_the_report(
    served: list[TestServer],
) -> None:
    provider = AsyncEthereumTesterProvider()
    w3 = AsyncWeb3(provider)
    owner = Account.from_key(provider.ethereum_tester.backend.account_keys[0].to_bytes())
    group = members(3)
    contract = await FeedContract.deploy_aggregate(
        w3, owner, 8, FEED, [m.schnorr.key for m in group],
        [m.schnorr.possession_proof() for m in group], 2,
    )  # fmt: skip
    now = int((await w3.eth.get_block("latest"))["timestamp"])
    feed = feed_of(group, 2, contract.domain())
    signers = [cosigner(m, feed, now=[float(now)]) for m in group]
    peers = await serve(signers[1:], served)
    client = PeerClient(list(peers.values()), timeout_s=5, max_peers=8)
    observations = await observe(group, contract.domain(), [300, 100, 200], now)

    report = await cosign(FEED, observations, feed, signers[0], peers, client, judge(feed, now))
    await client.close()

    assert isinstance(report, bytes)
    outcome = await contract.submit_report(report, owner)
    assert outcome.round_id == 1
    assert (await contract.latest_round_data()).answer == 200


async def test_a_member_that_cannot_be_reached_is_named(served: list[TestServer]) -> None:
    group = members(3)
    feed = feed_of(group, 2, DOMAIN)
    signers = [cosigner(m, feed) for m in group]
    peers = await serve(signers[1:2], served)
    peers[group[2].schnorr.address] = Peer("http://127.0.0.1:9", group[2].schnorr.address)
    client = PeerClient(list(peers.values()), timeout_s=2, max_peers=8)

    failure = await cosign(
        FEED, await observe(group, DOMAIN, [1, 2, 3]), feed, signers[0], peers, client, judge(feed)
    )
    await client.close()

    assert isinstance(failure, CosignFailure)
    assert failure.failed == (group[2].schnorr.address,)


async def test_a_member_whose_share_does_not_verify_is_named(served: list[TestServer]) -> None:
    group = members(3)
    feed = feed_of(group, 3, DOMAIN)
    impostor = Member(group[1].ecdsa, SchnorrSigner(bytes(Account.create().key)))
    # The impostor answers under group[1]'s address with another key: its share cannot verify.
    signers = [cosigner(group[0], feed), _as(impostor, group[1], feed), cosigner(group[2], feed)]
    peers = await serve(signers[1:], served)
    client = PeerClient(list(peers.values()), timeout_s=5, max_peers=8)

    failure = await cosign(
        FEED, await observe(group, DOMAIN, [1, 2, 3]), feed, signers[0], peers, client, judge(feed)
    )
    await client.close()

    assert isinstance(failure, CosignFailure)
    assert failure.failed == (group[1].schnorr.address,)
    assert "does not verify" in failure.detail


class Impostor(CoSigner):
    """A member answering under another member's address with its own key: a bad actor."""

    def __init__(self, schnorr: SchnorrSigner, claims: str, feed: AggregateFeed) -> None:
        super().__init__(schnorr, {FEED: feed}, lambda _: True, FRESH, lambda: float(NOW))
        self._claims = claims

    @property
    def address(self) -> str:
        return self._claims


def _as(impostor: Member, member: Member, feed: AggregateFeed) -> CoSigner:
    return Impostor(impostor.schnorr, member.schnorr.address, feed)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("outsider", "unknown_signer"),
        ("twice", "duplicate_signer"),
        ("forged", "bad_signature"),
        ("without self", "without_self"),
        ("below quorum", "below_quorum"),
        ("stale", "stale"),
        ("future", "future"),
    ],
)
async def test_a_member_refuses_a_report_it_cannot_vouch_for(case: str, reason: str) -> None:
    group = members(4)
    feed = feed_of(group[:3], 2, DOMAIN)
    me = cosigner(group[0], feed)
    ts = {"stale": NOW - 31, "future": NOW + 6}.get(case, NOW)
    observations = await observe(group[:3], DOMAIN, [1, 2, 3], ts)
    if case == "outsider":
        observations[2] = (await observe(group[3:], DOMAIN, [3]))[0]
    elif case == "twice":
        observations[2] = observations[1]
    elif case == "forged":
        o = observations[1]
        observations[1] = SignedObservation(o.value + 1, o.timestamp, o.signer, o.signature)
    elif case == "without self":
        observations = observations[1:]
    elif case == "below quorum":
        observations = observations[:1]

    refusal = me.commit(FEED, raw(observations))

    assert isinstance(refusal, CosignRefusal)
    assert refusal.reason == reason


async def test_a_member_that_serves_no_observation_of_the_feed_refuses() -> None:
    group = members(2)
    feed = feed_of(group, 2, DOMAIN)

    refusal = cosigner(group[0], feed, serving=False).commit(
        FEED, raw(await observe(group, DOMAIN, [1, 2]))
    )

    assert isinstance(refusal, CosignRefusal)
    assert refusal.reason == "not_serving"


async def test_a_session_signs_once() -> None:
    group = members(1)
    feed = feed_of(group, 1, DOMAIN)
    me = cosigner(group[0], feed)
    committed = me.commit(FEED, raw(await observe(group, DOMAIN, [5])))
    assert not isinstance(committed, CosignRefusal)
    session_id, nonce = committed

    first = me.sign(FEED, session_id, nonce.to_hex())
    second = me.sign(FEED, session_id, nonce.to_hex())

    assert isinstance(first, int)
    assert isinstance(second, CosignRefusal)
    assert second.reason == "unknown_session"


async def test_a_session_not_signed_in_time_expires() -> None:
    group = members(1)
    clock = [float(NOW)]
    me = cosigner(group[0], feed_of(group, 1, DOMAIN), now=clock)
    committed = me.commit(FEED, raw(await observe(group, DOMAIN, [5])))
    assert not isinstance(committed, CosignRefusal)
    clock[0] += 31

    late = me.sign(FEED, committed[0], committed[1].to_hex())

    assert isinstance(late, CosignRefusal)
    assert late.reason == "unknown_session"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/feeds/BTC-USD/cosign", b"{not json", 400),
        ("/v1/feeds/BTC-USD/cosign", b'{"other": 1}', 400),
        ("/v1/feeds/ETH-USD/cosign", b'{"observations": []}', 404),
        ("/v1/feeds/BTC-USD/cosign", b'{"observations": "x"}', 409),
        ("/v1/feeds/BTC-USD/cosign/nope", b'{"nonce": "0x00"}', 404),
    ],
)
async def test_a_bad_request_gets_a_json_error(
    served: list[TestServer], path: str, body: bytes, status: int
) -> None:
    import aiohttp

    group = members(1)
    peers = await serve([cosigner(group[0], feed_of(group, 1, DOMAIN))], served)
    (peer,) = peers.values()

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            peer.url + path, data=body, headers={"Content-Type": "application/json"}
        ) as resp,
    ):
        answer = await resp.json()

    assert resp.status == status
    assert isinstance(answer["error"], str)


async def test_a_co_signing_member_documents_and_serves_the_cosign_routes(
    tmp_path: Path,
) -> None:
    from tests.node.http_support import running_api

    group = members(2)
    feed = feed_of(group, 2, DOMAIN)
    observations = await observe(group, DOMAIN, [1, 2])

    async with running_api(tmp_path, cosigner=cosigner(group[0], feed)) as api:
        doc = await (await api.client.get("/openapi.json")).json()
        committed = await api.client.post(
            "/v1/feeds/BTC-USD/cosign", json={"observations": raw(observations)}
        )
        answer = await committed.json()

    assert doc["paths"]["/v1/feeds/{pair}/cosign"]["post"]["responses"]["409"]
    assert "/v1/feeds/{pair}/cosign/{session}" in doc["paths"]
    assert committed.status == 200
    assert set(answer) == {"session", "nonce"}


def report_of(kept: Sequence[SignedObservation], quorum: int) -> Report | None:
    """The relay's plan of `kept` (no publish policy in these tests), None below quorum."""
    if len(kept) < quorum:
        return None
    ordered = tuple(sorted(kept, key=lambda o: (o.value, int(o.signer, 16))))
    answer = ordered[(len(ordered) - 1) // 2].value
    return Report(ordered, answer, min(o.timestamp for o in ordered), PublishReason.HEARTBEAT)


async def test_an_observation_aged_out_of_the_relays_window_is_left_out_before_co_signing(
    served: list[TestServer],
) -> None:
    # Member 3 stamps its observation at the edge: fresh when gathered, past the relay's
    # window when co-signing starts. It is left out; the honest members still co-sign.
    group = members(4)
    feed = feed_of(group, 3, DOMAIN)
    signers = [cosigner(m, feed) for m in group]
    peers = await serve(signers[1:], served)
    client = PeerClient(list(peers.values()), timeout_s=5, max_peers=8)
    observations = await observe(group[:3], DOMAIN, [1, 2, 3]) + await observe(
        group[3:], DOMAIN, [1_000], NOW - STRICT.max_age_s - 1
    )
    plan = report_of(observations, 3)
    assert plan is not None

    signed = await cosign_until_done(
        FEED, plan, signers[0], peers, client, judge(feed), lambda kept: report_of(kept, 3)
    )
    await client.close()

    assert signed is not None
    assert [o.signer for o in signed[0].observations] == [m.ecdsa.address for m in group[:3]]
    assert signed[0].answer == 2


async def test_a_member_refusing_an_observation_the_relay_finds_fine_is_left_out(
    served: list[TestServer],
) -> None:
    group = members(3)
    feed = feed_of(group, 2, DOMAIN)
    # Member 2 holds a 1 s window: it calls the others' observations stale.
    narrow = CoSigner(
        group[2].schnorr, {FEED: feed}, lambda _: True, Freshness(1, 1), lambda: float(NOW)
    )
    peers = await serve([cosigner(group[1], feed), narrow], served)
    client = PeerClient(list(peers.values()), timeout_s=5, max_peers=8)
    observations = await observe(group, DOMAIN, [1, 2, 3], NOW - 5)

    failure = await cosign(
        FEED, observations, feed, cosigner(group[0], feed), peers, client, judge(feed)
    )
    await client.close()

    assert isinstance(failure, CosignFailure)
    assert failure.failed == (group[2].schnorr.address,)


async def test_a_refusal_over_an_observation_the_relay_finds_wrong_too_leaves_out_its_signer(
    served: list[TestServer],
) -> None:
    group = members(3)
    feed = feed_of(group, 2, DOMAIN)
    peers = await serve([cosigner(m, feed) for m in group[1:]], served)
    client = PeerClient(list(peers.values()), timeout_s=5, max_peers=8)
    observations = await observe(group, DOMAIN, [1, 2, 3])
    forged = observations[2]
    observations[2] = SignedObservation(
        forged.value + 1, forged.timestamp, forged.signer, forged.signature
    )

    failure = await cosign(
        FEED, observations, feed, cosigner(group[0], feed), peers, client, judge(feed)
    )
    await client.close()

    assert isinstance(failure, CosignFailure)
    assert failure.failed == (group[2].schnorr.address,)


async def test_one_requester_cannot_push_out_anothers_sessions() -> None:
    group = members(1)
    me = cosigner(group[0], feed_of(group, 1, DOMAIN))
    body = raw(await observe(group, DOMAIN, [5]))
    kept = me.commit(FEED, body, requester="relay")
    assert not isinstance(kept, CosignRefusal)
    for _ in range(40):
        me.commit(FEED, body, requester="flooder")

    share = me.sign(FEED, kept[0], kept[1].to_hex())

    assert isinstance(share, int)


async def test_a_signature_that_recovers_nothing_is_refused_as_bad() -> None:
    group = members(2)
    feed = feed_of(group, 2, DOMAIN)
    observations = await observe(group, DOMAIN, [1, 2])
    o = observations[1]
    observations[1] = SignedObservation(
        o.value, o.timestamp, o.signer, bytes(32) + o.signature[32:]
    )

    refusal = cosigner(group[0], feed).commit(FEED, raw(observations))

    assert isinstance(refusal, CosignRefusal)
    assert (refusal.reason, refusal.culprit) == ("bad_signature", group[1].ecdsa.address)
