"""A remote signer over JSON-RPC (eth_signTypedData_v4), against a small loopback signer
service holding the key, as Web3Signer or Clef would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account
from eth_account.signers.local import LocalAccount
from feed_helpers import Chain

from publisher.eip712 import SECP256K1_N, Domain, recover_signer
from publisher.errors import RemoteSignerError
from publisher.remote_signer import RemoteSigner

Tamper = Callable[[bytes], bytes]


def untouched(signature: bytes) -> bytes:
    return signature


def high_s_twin(signature: bytes) -> bytes:
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


async def signer_service(key: LocalAccount, tamper: Tamper) -> web.AppRunner:
    async def rpc(request: web.Request) -> web.Response:
        body = await request.json()
        if body["method"] != "eth_signTypedData_v4":
            return web.json_response(
                {"jsonrpc": "2.0", "id": body["id"], "error": {"message": "no"}}
            )
        _, typed = body["params"]  # signs with its one key whatever address is asked
        signed = key.sign_typed_data(full_message=json.loads(typed))
        signature = tamper(bytes(signed.signature))
        return web.json_response(
            {"jsonrpc": "2.0", "id": body["id"], "result": "0x" + signature.hex()}
        )

    app = web.Application()
    app.router.add_post("/", rpc)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


@pytest.fixture
async def remote() -> AsyncIterator[Callable[[LocalAccount, Tamper], Any]]:
    runners: list[web.AppRunner] = []
    signers: list[RemoteSigner] = []

    async def start(key: LocalAccount, tamper: Tamper = untouched) -> RemoteSigner:
        runner = await signer_service(key, tamper)
        runners.append(runner)
        signer = RemoteSigner(f"http://127.0.0.1:{runner.addresses[0][1]}/", key.address)
        signers.append(signer)
        return signer

    yield start
    for signer in signers:
        await signer.close()
    for runner in runners:
        await runner.cleanup()


DOMAIN = Domain(31337, "0x" + "12" * 20)


async def test_a_remote_signature_recovers_to_the_configured_address(remote: Any) -> None:
    key = Account.create()
    signer = await remote(key)

    observation = await signer.sign_observation(DOMAIN, 123, 1_700_000_000)

    assert recover_signer(DOMAIN, observation) == key.address == observation.signer


async def test_a_high_s_answer_is_normalised_to_the_low_s_signature(remote: Any) -> None:
    key = Account.create()
    signer = await remote(key, high_s_twin)

    observation = await signer.sign_observation(DOMAIN, 123, 1_700_000_000)

    observation.compact()  # raises on high s
    assert recover_signer(DOMAIN, observation) == key.address


async def test_a_signature_by_another_key_is_refused(remote: Any) -> None:
    impostor = Account.create()
    service = await remote(impostor)
    expecting = RemoteSigner(service.url, Account.create().address)

    with pytest.raises(RemoteSignerError, match="does not recover"):
        await expecting.sign_observation(DOMAIN, 1, 1)
    await expecting.close()


async def test_an_unreachable_signer_is_a_remote_signer_error() -> None:
    signer = RemoteSigner("http://127.0.0.1:9/", Account.create().address, timeout_s=2)
    with pytest.raises(RemoteSignerError, match="unreachable"):
        await signer.sign_observation(DOMAIN, 1, 1)
    await signer.close()


async def test_a_remotely_signed_observation_is_accepted_by_the_feed(
    chain: Chain, deploy_feed: Any, remote: Any
) -> None:
    key = Account.create()
    signer = await remote(key)
    feed = await deploy_feed([signer], 1)

    observation = await signer.sign_observation(feed.domain(), 4242, await chain.now())
    outcome = await feed.submit([observation], chain.owner)

    assert outcome.round_id == 1
    assert (await feed.latest_round_data()).answer == 4242
