"""OracleFeed accepts a quorum of signed observations and serves the median (py-evm chain)."""

from __future__ import annotations

import pytest
from feed_helpers import DECIMALS, DESCRIPTION, Chain, make_signers, sign_all
from web3.logs import DISCARD

from publisher.eip712 import INT192_MAX, INT192_MIN, SignedObservation
from publisher.errors import InvalidReportError, TransactionRevertedError
from publisher.feed_contract import FeedContract, RoundData
from publisher.report import signer_set_commitment


async def test_update_with_a_single_signer_is_accepted(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    now = await chain.now()

    outcome = await feed.submit(await sign_all(feed.domain(), signers, [123], now), chain.owner)

    assert (outcome.status, outcome.round_id) == (1, 1)
    assert await feed.latest_round_data() == RoundData(1, 123, now, now, 1)


async def test_update_with_three_of_five_signers_is_accepted(chain: Chain, deploy_feed) -> None:
    signers = make_signers(5)
    feed = await deploy_feed(signers, 3)
    now = await chain.now()

    batch = await sign_all(feed.domain(), signers[1:4], [10, 20, 30], now)
    outcome = await feed.submit(batch, chain.owner)

    assert outcome.round_id == 1
    assert (await feed.latest_round_data()).answer == 20


async def test_stored_answer_is_the_median_of_an_odd_batch(chain: Chain, deploy_feed) -> None:
    signers = make_signers(5)
    feed = await deploy_feed(signers, 3)
    batch = await sign_all(feed.domain(), signers, [5, 1, 900, 7, 3], await chain.now())

    await feed.submit(batch, chain.owner)  # unsorted on purpose: submit sorts

    assert (await feed.latest_round_data()).answer == 5


async def test_stored_answer_is_the_lower_middle_of_an_even_batch(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(4)
    feed = await deploy_feed(signers, 2)
    batch = await sign_all(feed.domain(), signers, [10, 20, 30, 40], await chain.now())

    await feed.submit(batch, chain.owner)

    assert (await feed.latest_round_data()).answer == 20


async def test_updated_at_is_the_oldest_observation_timestamp(chain: Chain, deploy_feed) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 3)
    now = await chain.now()
    domain = feed.domain()
    batch = [
        await signers[0].sign_observation(domain, 1, now - 5),
        await signers[1].sign_observation(domain, 2, now - 9),
        await signers[2].sign_observation(domain, 3, now),
    ]

    await feed.submit(batch, chain.owner)

    latest = await feed.latest_round_data()
    assert (latest.started_at, latest.updated_at) == (now - 9, now - 9)


async def test_negative_answers_are_stored(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)

    await feed.submit(await sign_all(feed.domain(), signers, [-42], await chain.now()), chain.owner)

    assert (await feed.latest_round_data()).answer == -42


async def test_get_round_data_returns_earlier_rounds(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    now = await chain.now()
    for i, value in enumerate([100, 200, 300]):
        await feed.submit(await sign_all(feed.domain(), signers, [value], now + i), chain.owner)

    assert await feed.get_round_data(2) == RoundData(2, 200, now + 1, now + 1, 2)
    assert (await feed.latest_round_data()).round_id == 3


async def test_get_round_data_of_a_future_round_reverts(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    await feed.submit(await sign_all(feed.domain(), signers, [1], await chain.now()), chain.owner)

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.get_round_data(2)
    assert (raised.value.error_name, raised.value.error_args) == ("RoundNotAvailable", (2,))


async def test_latest_round_data_of_an_empty_feed_reverts_with_no_data_present(
    deploy_feed,
) -> None:
    feed = await deploy_feed(make_signers(1), 1)

    with pytest.raises(TransactionRevertedError) as raised:
        await feed.latest_round_data()
    assert raised.value.error_name == "NoDataPresent"


async def test_feed_reports_its_metadata(deploy_feed) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 2)

    assert await feed.decimals() == DECIMALS
    assert await feed.description() == DESCRIPTION
    assert await feed.signers() == [s.address for s in signers]
    assert await feed.quorum() == 2


async def test_update_emits_chainlink_new_round_and_answer_updated(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 2)
    now = await chain.now()
    outcome = await feed.submit(await sign_all(feed.domain(), signers, [1, 2, 3], now), chain.owner)

    contract = chain.w3.eth.contract(address=feed.address, abi=feed_abi())
    receipt = await chain.w3.eth.get_transaction_receipt(outcome.tx_hash)
    new_round = contract.events.NewRound().process_receipt(receipt, errors=DISCARD)
    answer_updated = contract.events.AnswerUpdated().process_receipt(receipt, errors=DISCARD)

    assert [dict(e["args"]) for e in new_round] == [
        {"roundId": 1, "startedBy": chain.owner.address, "startedAt": now}
    ]
    assert [dict(e["args"]) for e in answer_updated] == [
        {"current": 2, "roundId": 1, "updatedAt": now}
    ]
    assert await feed.emits_new_round() is True


def feed_abi() -> list[dict[str, object]]:
    from publisher.compile import load_artifact

    abi: list[dict[str, object]] = load_artifact()["abi"]
    return abi


async def test_the_extremes_of_int192_are_stored(chain: Chain, deploy_feed) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 2)
    batch = await sign_all(feed.domain(), signers, [INT192_MAX, INT192_MIN], await chain.now())

    await feed.submit(batch, chain.owner)

    assert (await feed.latest_round_data()).answer == INT192_MIN


async def test_a_feed_without_new_round_emits_answer_updated_only(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(1)
    feed = await FeedContract.deploy(
        chain.w3, chain.owner, DECIMALS, DESCRIPTION, [signers[0].address], 1, new_round_event=False
    )
    now = await chain.now()

    outcome = await feed.submit(await sign_all(feed.domain(), signers, [5], now), chain.owner)

    contract = chain.w3.eth.contract(address=feed.address, abi=feed_abi())
    receipt = await chain.w3.eth.get_transaction_receipt(outcome.tx_hash)
    assert contract.events.NewRound().process_receipt(receipt, errors=DISCARD) == ()
    assert len(contract.events.AnswerUpdated().process_receipt(receipt, errors=DISCARD)) == 1
    assert outcome.round_id == 1
    assert await feed.emits_new_round() is False


async def test_signer_set_commitment_is_the_encoders(chain: Chain, deploy_feed) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 2)
    contract = chain.w3.eth.contract(address=feed.address, abi=feed_abi())

    committed = await contract.functions.signerSetCommitment().call()

    assert committed == signer_set_commitment([s.address for s in signers])


async def test_submit_rereads_a_signer_set_changed_behind_its_back(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 2)
    now = await chain.now()
    await feed.submit(await sign_all(feed.domain(), signers, [1, 2], now - 5), chain.owner)
    # Another handle on the same feed (an operator's tool) reorders the set.
    admin = FeedContract(chain.w3, feed.address, feed.chain_id)
    await admin.set_signers([signers[1].address, signers[0].address], 2, chain.owner)

    outcome = await feed.submit(await sign_all(feed.domain(), signers, [3, 4], now), chain.owner)

    assert outcome.round_id == 2
    assert (await feed.latest_round_data()).answer == 3


async def test_an_observation_that_cannot_be_packed_is_refused_before_anything_is_sent(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    [good] = await sign_all(feed.domain(), signers, [123], await chain.now())
    bad = SignedObservation(good.value, good.timestamp, good.signer, good.signature[:64] + b"\x01")
    sent_before = await chain.w3.eth.get_transaction_count(chain.owner.address)

    with pytest.raises(InvalidReportError, match="27 or 28"):
        await feed.submit([bad], chain.owner)

    assert await chain.w3.eth.get_transaction_count(chain.owner.address) == sent_before
