"""A relay trusts nothing a peer says: every field of an observation is checked locally."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account

from node.peers import ObservationCheck, Peer, PeerClient, Rejection, check_observation
from node.records import observation_json
from publisher.eip712 import Domain, SignedObservation
from publisher.keys import LocalSigner

DOMAIN = Domain(31337, "0x" + "ab" * 20)
NOW_S = 1_700_000_000
KEY = LocalSigner(Account.create())
OTHER = LocalSigner(Account.create())


def check(**changes: Any) -> ObservationCheck:
    base: dict[str, Any] = {
        "feed": "BTC/USD",
        "domain": DOMAIN,
        "signers": frozenset({KEY.address, OTHER.address}),
        "now_s": NOW_S,
        "max_age_s": 30,
        "max_future_s": 5,
        "newer_than_s": NOW_S - 100,
    }
    return ObservationCheck(**{**base, **changes})


async def body(
    signer: LocalSigner = KEY, timestamp: int = NOW_S, domain: Domain = DOMAIN, **over: Any
) -> dict[str, Any]:
    signed = await signer.sign_observation(domain, 6_500_000_000_000, timestamp)
    return {
        **observation_json(signed),
        "answer": str(signed.value),
        "feed": "BTC/USD",
        "round_id": 1,
        "chain_id": domain.chain_id,
        "contract": domain.verifying_contract,
        **over,
    }


PEER = Peer("http://127.0.0.1:1", KEY.address)


async def test_a_well_formed_fresh_observation_of_the_configured_signer_is_accepted() -> None:
    result = check_observation(await body(), PEER, check())
    assert isinstance(result, SignedObservation)
    assert result.signer == KEY.address
    assert result.value == 6_500_000_000_000


async def reason_for(given: object, **check_changes: Any) -> str:
    result = check_observation(given, PEER, check(**check_changes))
    assert isinstance(result, Rejection)
    return result.reason


async def test_a_body_that_is_not_an_object_is_malformed() -> None:
    assert await reason_for(["x"]) == "malformed"


async def test_a_body_missing_the_signature_is_malformed() -> None:
    given = await body()
    del given["signature"]
    assert await reason_for(given) == "malformed"


async def test_a_timestamp_given_as_text_is_malformed() -> None:
    assert await reason_for((await body()) | {"timestamp": "1"}) == "malformed"


@pytest.mark.parametrize("answer", ["--5", "\u00b2", "1e3", " 5", str(2**191)])
async def test_an_answer_that_is_not_an_int192_in_decimal_digits_is_malformed(
    answer: str,
) -> None:
    assert await reason_for(await body(answer=answer)) == "malformed"


async def test_the_high_s_twin_of_a_valid_signature_is_a_bad_signature() -> None:
    """Plain ECDSA recovers the signer from it; the contract would refuse the whole report."""
    given = await body()
    raw = bytes.fromhex(given["signature"][2:])
    s = int.from_bytes(raw[32:64], "big")
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    twin = raw[:32] + (n - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    assert await reason_for(given | {"signature": "0x" + twin.hex()}) == "bad_signature"


async def test_an_observation_of_another_feed_is_refused() -> None:
    assert await reason_for(await body(feed="ETH/USD")) == "wrong_feed"


async def test_an_observation_signed_for_another_contract_is_refused() -> None:
    other = Domain(31337, "0x" + "cd" * 20)
    assert await reason_for(await body(domain=other)) == "wrong_domain"


async def test_an_observation_from_another_signer_than_the_configured_one_is_refused() -> None:
    assert await reason_for(await body(signer=OTHER)) == "signer_mismatch"


async def test_a_signer_outside_the_feeds_signer_set_is_refused() -> None:
    assert await reason_for(await body(), signers=frozenset({OTHER.address})) == "unknown_signer"


async def test_a_value_the_signer_did_not_sign_is_a_bad_signature() -> None:
    assert await reason_for(await body(answer="6600000000000")) == "bad_signature"


async def test_a_stale_observation_is_refused() -> None:
    assert await reason_for(await body(timestamp=NOW_S - 31)) == "stale"


async def test_an_observation_stamped_in_the_future_is_refused() -> None:
    assert await reason_for(await body(timestamp=NOW_S + 6)) == "future"


async def test_an_observation_not_newer_than_the_chain_is_refused() -> None:
    assert await reason_for(await body(), newer_than_s=NOW_S) == "not_newer"


Route = Callable[[web.Request], Any]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Route], Any]]:
    """Serves one handler at the observation route on a free loopback port; yields its URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Route) -> str:
        app = web.Application()
        app.router.add_get("/v1/feeds/{pair}/observation", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_gather_keeps_good_peers_and_reports_each_bad_one_with_its_reason(
    serve: Callable[[Route], Any],
) -> None:
    good_body = await body(signer=OTHER)
    release = asyncio.Event()

    async def good(_: web.Request) -> web.Response:
        return web.json_response(good_body)

    async def slow(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response(good_body)

    async def huge(_: web.Request) -> web.Response:
        return web.Response(body=b"[" + b"1," * 10_000 + b"1]")

    async def broken(_: web.Request) -> web.Response:
        return web.Response(body=b'{"feed": "BTC', content_type="application/json")

    async def missing(_: web.Request) -> web.Response:
        return web.json_response({"error": "none yet"}, status=404)

    third = [LocalSigner(Account.create()) for _ in range(4)]
    peers = [Peer(await serve(good), OTHER.address)]
    peers += [
        Peer(await serve(h), s.address)
        for h, s in zip((slow, huge, broken, missing), third, strict=True)
    ]
    peers.append(Peer("http://127.0.0.1:9", Account.create().address))  # nobody listens
    seen: list[Rejection] = []
    client = PeerClient(peers, timeout_s=0.5, max_peers=10, on_rejection=seen.append)
    try:
        started = asyncio.get_running_loop().time()
        accepted, rejected = await client.gather(check(now_s=NOW_S))
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        release.set()
        await client.close()
    assert [o.signer for o in accepted] == [OTHER.address]
    assert sorted(r.reason for r in rejected) == sorted(
        ["timeout", "too_large", "malformed", "http_status", "unreachable"]
    )
    assert seen == rejected
    assert elapsed < 1.5  # asked at once, each bounded by the timeout


async def test_an_observation_that_arrives_in_several_pieces_is_read_whole(
    serve: Callable[[Route], Any],
) -> None:
    payload = json.dumps(await body(signer=OTHER)).encode()

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for start in range(0, len(payload), 40):
            await response.write(payload[start : start + 40])
            await asyncio.sleep(0.01)  # each piece its own packet
        await response.write_eof()
        return response

    client = PeerClient([Peer(await serve(trickle), OTHER.address)], timeout_s=5, max_peers=1)
    try:
        accepted, rejected = await client.gather(check(now_s=NOW_S))
    finally:
        await client.close()
    assert rejected == []
    assert [o.signer for o in accepted] == [OTHER.address]


async def test_gather_asks_at_most_max_peers(serve: Callable[[Route], Any]) -> None:
    asked: list[str] = []

    async def count(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.json_response({}, status=404)

    url = await serve(count)
    peers = [Peer(f"{url}/n{i}", Account.create().address) for i in range(5)]
    client = PeerClient(peers, timeout_s=1, max_peers=2)
    try:
        _, rejected = await client.gather(check())
    finally:
        await client.close()
    assert len(rejected) == 2
