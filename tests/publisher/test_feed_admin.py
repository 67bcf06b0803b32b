"""Only the owner manages the signer set and quorum; ownership moves in two steps."""

from __future__ import annotations

from typing import Any

import pytest
from feed_helpers import Chain, make_signers, sign_all

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.errors import TransactionRevertedError
from publisher.feed_contract import FeedContract


async def owner_of(chain: Chain, feed: FeedContract) -> tuple[str, str]:
    contract = chain.w3.eth.contract(address=feed.address, abi=load_artifact()["abi"])
    return (
        await contract.functions.owner().call(),
        await contract.functions.pendingOwner().call(),
    )


async def send_as(chain: Chain, feed: FeedContract, account: Any, name: str, *args: Any) -> None:
    """Send an owner-API transaction from `account` (eth-tester holds the dev keys)."""
    abi = load_artifact()["abi"]
    contract = chain.w3.eth.contract(address=feed.address, abi=abi)
    with translate_errors(RevertDecoder(abi)):
        tx_hash = await contract.functions[name](*args).transact({"from": account.address})
        await chain.w3.eth.wait_for_transaction_receipt(tx_hash)


async def test_owner_replaces_the_signer_set(chain: Chain, deploy_feed) -> None:
    old, new = make_signers(2), make_signers(3)
    feed = await deploy_feed(old, 1)

    await feed.set_signers([s.address for s in new], 2, chain.owner)

    assert await feed.signers() == [s.address for s in new]
    assert await feed.quorum() == 2


async def test_a_removed_signer_is_no_longer_authorized(chain: Chain, deploy_feed) -> None:
    old, new = make_signers(1), make_signers(1)
    feed = await deploy_feed(old, 1)
    await feed.set_signers([new[0].address], 1, chain.owner)

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.submit(await sign_all(feed.domain(), old, [1], await chain.now()), chain.owner)
    assert raised.value.error_name == "UnauthorizedSigner"


async def test_non_owner_cannot_change_signers(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(1), 1)
    stranger = chain.accounts[1]

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.set_signers([stranger.address], 1, stranger)
    assert (raised.value.error_name, raised.value.error_args) == ("NotOwner", (stranger.address,))


async def test_non_owner_cannot_change_quorum(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(3), 1)

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.set_quorum(2, chain.accounts[1])
    assert raised.value.error_name == "NotOwner"


async def test_owner_changes_the_quorum(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(3), 1)

    await feed.set_quorum(3, chain.owner)

    assert await feed.quorum() == 3


@pytest.mark.parametrize("quorum", [0, 4])
async def test_quorum_outside_one_to_signer_count_is_rejected(deploy_feed, quorum: int) -> None:
    with pytest.raises(TransactionRevertedError) as raised:
        await deploy_feed(make_signers(3), quorum)
    assert (raised.value.error_name, raised.value.error_args) == ("InvalidQuorum", (quorum, 3))


async def test_a_signer_listed_twice_is_rejected(deploy_feed) -> None:
    signer = make_signers(1)[0]

    with pytest.raises(TransactionRevertedError) as raised:
        await deploy_feed([signer, signer], 1)
    assert raised.value.error_name == "SignerListedTwice"


async def test_transfer_takes_effect_only_when_accepted(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(1), 1)
    owner, successor = chain.accounts[0], chain.accounts[1]

    await send_as(chain, feed, owner, "transferOwnership", successor.address)
    assert await owner_of(chain, feed) == (owner.address, successor.address)

    await send_as(chain, feed, successor, "acceptOwnership")
    assert await owner_of(chain, feed) == (successor.address, "0x" + "0" * 40)


async def test_only_the_pending_owner_can_accept(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(1), 1)
    await send_as(chain, feed, chain.accounts[0], "transferOwnership", chain.accounts[1].address)

    with pytest.raises(TransactionRevertedError) as raised:
        await send_as(chain, feed, chain.accounts[2], "acceptOwnership")
    assert raised.value.error_name == "NotPendingOwner"


async def test_previous_owner_loses_admin_rights_after_transfer(chain: Chain, deploy_feed) -> None:
    feed = await deploy_feed(make_signers(2), 1)
    await send_as(chain, feed, chain.accounts[0], "transferOwnership", chain.accounts[1].address)
    await send_as(chain, feed, chain.accounts[1], "acceptOwnership")

    with pytest.raises(TransactionRevertedError):
        await feed.set_quorum(2, chain.accounts[0])
    await feed.set_quorum(2, chain.accounts[1])
    assert await feed.quorum() == 2
