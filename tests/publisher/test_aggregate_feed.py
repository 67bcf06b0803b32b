"""OracleFeedAggregate accepts a report signed by one Schnorr multi-signature of a quorum of
its members and refuses every report that breaks an invariant, naming the broken one."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aggregate_helpers import (
    Members,
    call_aggregate_raw,
    deploy_aggregate,
    entries_at,
    signed_report,
)
from eth_utils.crypto import keccak
from feed_helpers import DECIMALS, DESCRIPTION, Chain

from publisher.aggregate_report import (
    Entry,
    encode_aggregate_report,
    keys_hash,
    report_body,
    report_digest,
    set_commitment,
)
from publisher.compile import load_artifact
from publisher.eip712 import Domain
from publisher.errors import TransactionRevertedError
from publisher.feed_contract import FeedContract
from publisher.schnorr import Key, N, P, add, multi_sign

AGGREGATE = "OracleFeedAggregate"

MAX_FUTURE_DRIFT = 60


async def rejected_with(coro: object) -> TransactionRevertedError:
    with pytest.raises(TransactionRevertedError) as raised:
        await coro  # type: ignore[misc]
    return raised.value


async def test_a_report_signed_by_every_member_stores_its_median(chain: Chain) -> None:
    members = Members.fresh(5)
    feed = await deploy_aggregate(chain, members, 3)
    now = await chain.now()
    entries = [Entry(i, 100 + v, now - i) for i, v in enumerate([5, 1, 4, 2, 3])]

    outcome = await feed.submit_report(signed_report(feed.domain(), members, entries), chain.owner)

    latest = await feed.latest_round_data()
    assert (outcome.round_id, latest.answer, latest.updated_at) == (1, 103, now - 4)


async def test_a_report_signed_by_a_quorum_of_the_members_stores_its_median(
    chain: Chain,
) -> None:
    members = Members.fresh(5)
    feed = await deploy_aggregate(chain, members, 3)
    now = await chain.now()
    entries = [Entry(4, 30, now), Entry(1, 10, now), Entry(2, 20, now)]

    await feed.submit_report(signed_report(feed.domain(), members, entries), chain.owner)

    assert (await feed.latest_round_data()).answer == 20


async def test_the_commitment_is_the_one_the_publisher_computes(chain: Chain) -> None:
    members = Members.fresh(4)
    feed = await deploy_aggregate(chain, members, 2)

    contract = chain.w3.eth.contract(address=feed.address, abi=load_artifact(AGGREGATE)["abi"])

    committed = await contract.functions.signerSetCommitment().call()

    assert bytes(committed) == set_commitment(members.keys)
    assert await feed.signers() == [k.address for k in members.keys]
    assert await feed.signer_keys() == members.keys


async def test_rejects_a_signature_by_a_key_outside_the_set(chain: Chain) -> None:
    members = Members.fresh(3)
    outsider = Members.fresh(1)
    feed = await deploy_aggregate(chain, members, 2)
    entries = entries_at(await chain.now(), [1, 2])
    body = report_body(entries, 3)
    digest = report_digest(feed.domain(), body)
    s, r = multi_sign([members.secrets[0], outsider.secrets[0]], digest)

    error = await rejected_with(
        call_aggregate_raw(chain, feed.address, encode_aggregate_report(body, s, r, members.keys))
    )

    assert error.error_name == "InvalidSignature"


async def test_rejects_a_report_changed_after_it_was_signed(chain: Chain) -> None:
    members = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 3)
    report = bytearray(
        signed_report(feed.domain(), members, entries_at(await chain.now(), [1, 2, 3]))
    )
    report[13 + 1] ^= 0x01  # the first observation's value

    error = await rejected_with(call_aggregate_raw(chain, feed.address, bytes(report)))

    assert error.error_name == "InvalidSignature"


async def test_rejects_a_member_named_twice(chain: Chain) -> None:
    members = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 2)
    now = await chain.now()
    entries = [Entry(0, 1, now), Entry(0, 2, now)]

    error = await rejected_with(
        call_aggregate_raw(
            chain, feed.address, signed_report(feed.domain(), members, entries, signed_by=[0])
        )
    )

    assert (error.error_name, error.error_args) == ("SignerNamedTwice", (1, 0))


async def test_rejects_values_not_sorted_ascending(chain: Chain) -> None:
    members = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 3)
    entries = entries_at(await chain.now(), [1, 3, 2])

    error = await rejected_with(
        call_aggregate_raw(
            chain, feed.address, signed_report(feed.domain(), members, entries, sort=False)
        )
    )

    assert (error.error_name, error.error_args) == ("ValuesNotSorted", (2,))


async def test_rejects_fewer_observations_than_the_quorum(chain: Chain) -> None:
    members = Members.fresh(4)
    feed = await deploy_aggregate(chain, members, 3)
    entries = entries_at(await chain.now(), [1, 2])

    error = await rejected_with(
        call_aggregate_raw(chain, feed.address, signed_report(feed.domain(), members, entries))
    )

    assert (error.error_name, error.error_args) == ("NotEnoughObservations", (2, 3))


async def test_rejects_a_timestamp_not_newer_than_the_last_update(chain: Chain) -> None:
    members = Members.fresh(2)
    feed = await deploy_aggregate(chain, members, 2)
    now = await chain.now()
    await feed.submit_report(
        signed_report(feed.domain(), members, entries_at(now, [1, 2])), chain.owner
    )
    again = signed_report(feed.domain(), members, entries_at(now, [3, 4]))

    error = await rejected_with(call_aggregate_raw(chain, feed.address, again))

    assert (error.error_name, error.error_args) == ("StaleObservation", (0, now, now))


async def test_rejects_a_timestamp_too_far_in_the_future(chain: Chain) -> None:
    members = Members.fresh(2)
    feed = await deploy_aggregate(chain, members, 2)
    ahead = await chain.now() + MAX_FUTURE_DRIFT + 30
    report = signed_report(feed.domain(), members, entries_at(ahead, [1, 2]))

    error = await rejected_with(call_aggregate_raw(chain, feed.address, report))

    assert error.error_name == "TimestampTooFarInFuture"
    assert error.error_args[:2] == (0, ahead)


@pytest.mark.parametrize("other", ["chain", "contract"])
async def test_rejects_a_signature_made_for_another_domain(chain: Chain, other: str) -> None:
    members = Members.fresh(2)
    feed = await deploy_aggregate(chain, members, 2)
    elsewhere = await deploy_aggregate(chain, members, 2)
    domain = Domain(feed.chain_id + 1, feed.address) if other == "chain" else elsewhere.domain()
    report = signed_report(domain, members, entries_at(await chain.now(), [1, 2]))

    error = await rejected_with(call_aggregate_raw(chain, feed.address, report))

    assert error.error_name == "InvalidSignature"


@pytest.mark.parametrize("s", [0, N, 2**256 - 1])
async def test_rejects_an_s_outside_one_to_n(chain: Chain, s: int) -> None:
    # s is only meaningful mod N: refusing s >= N leaves each signature one encoding.
    members = Members.fresh(2)
    feed = await deploy_aggregate(chain, members, 2)
    body = report_body(entries_at(await chain.now(), [1, 2]), 2)
    _, r = multi_sign(members.secrets, report_digest(feed.domain(), body))

    error = await rejected_with(
        call_aggregate_raw(chain, feed.address, encode_aggregate_report(body, s, r, members.keys))
    )

    assert error.error_name == "InvalidSignature"


async def test_rejects_a_report_that_names_a_member_who_did_not_sign(chain: Chain) -> None:
    members = Members.fresh(4)
    feed = await deploy_aggregate(chain, members, 2)
    entries = entries_at(await chain.now(), [1, 2, 3])

    error = await rejected_with(
        call_aggregate_raw(
            chain, feed.address, signed_report(feed.domain(), members, entries, signed_by=[0, 1])
        )
    )

    assert error.error_name == "InvalidSignature"


async def test_rejects_the_key_material_of_another_set(chain: Chain) -> None:
    members = Members.fresh(3)
    others = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 3)
    report = signed_report(feed.domain(), others, entries_at(await chain.now(), [1, 2, 3]))

    error = await rejected_with(call_aggregate_raw(chain, feed.address, report))

    assert error.error_name == "SignerSetMismatch"


@pytest.mark.parametrize("cut", ["truncated", "trailing byte", "position outside the set"])
async def test_rejects_a_malformed_report(chain: Chain, cut: str) -> None:
    members = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 2)
    entries = entries_at(await chain.now(), [1, 2])
    report = signed_report(feed.domain(), members, entries)
    if cut == "truncated":
        report = report[:-1]
    elif cut == "trailing byte":
        report += b"\x00"
    else:
        report = bytearray(report)
        report[13] = 3  # the first observation names position 3 of a 3-member set
        report = bytes(report)

    error = await rejected_with(call_aggregate_raw(chain, feed.address, report))

    assert error.error_name == "MalformedReport"


async def test_only_the_owner_changes_the_signer_set(chain: Chain) -> None:
    members = Members.fresh(2)
    feed = await deploy_aggregate(chain, members, 2)
    stranger = chain.accounts[1]

    error = await rejected_with(feed.set_signer_keys(members.keys, members.proofs(), 1, stranger))

    assert (error.error_name, error.error_args) == ("NotOwner", (stranger.address,))


async def test_a_new_signer_set_takes_over_at_once_and_is_announced(chain: Chain) -> None:
    old, new = Members.fresh(2), Members.fresh(3)
    feed = await deploy_aggregate(chain, old, 2)
    outcome = await feed.set_signer_keys(new.keys, new.proofs(), 2, chain.owner)
    receipt = await chain.w3.eth.get_transaction_receipt(outcome.tx_hash)
    contract = chain.w3.eth.contract(address=feed.address, abi=load_artifact(AGGREGATE)["abi"])
    now = await chain.now()

    (event,) = contract.events.SignersSet().process_receipt(receipt)
    stale = await rejected_with(
        call_aggregate_raw(
            chain, feed.address, signed_report(feed.domain(), old, entries_at(now, [1, 2]))
        )
    )
    await feed.submit_report(
        signed_report(feed.domain(), new, entries_at(now, [1, 2])), chain.owner
    )

    assert event.args.signers == [k.address for k in new.keys]
    assert bytes(event.args.commitment) == set_commitment(new.keys)
    assert stale.error_name == "SignerSetMismatch"


async def test_refuses_a_key_without_a_proof_of_its_possession(chain: Chain) -> None:
    members = Members.fresh(2)
    proofs = members.proofs()

    error = await rejected_with(deploy_keys(chain, members.keys, [proofs[0], proofs[0]]))

    assert (error.error_name, error.error_args) == ("InvalidKeyProof", (1,))


async def test_refuses_a_rogue_key_that_cancels_the_others(chain: Chain) -> None:
    # The attacker's key minus the honest member's sums with it to a key the attacker holds
    # alone; nobody knows the rogue key's own secret, so no proof can be made for it.
    honest, attacker = Members.fresh(1), Members.fresh(1)
    minus_honest = Key(honest.keys[0].x, P - honest.keys[0].y)
    rogue = add([attacker.keys[0], minus_honest])

    error = await rejected_with(
        deploy_keys(chain, [honest.keys[0], rogue], [*honest.proofs(), *attacker.proofs()])
    )

    assert (error.error_name, error.error_args) == ("InvalidKeyProof", (1,))


async def test_refuses_a_key_listed_twice(chain: Chain) -> None:
    members = Members.fresh(1)

    error = await rejected_with(deploy_keys(chain, members.keys * 2, members.proofs() * 2))

    assert (error.error_name, error.error_args) == ("KeyListedTwice", (1,))


async def deploy_keys(
    chain: Chain, keys: Sequence[Key], proofs: Sequence[tuple[bytes, bytes]]
) -> FeedContract:
    return await FeedContract.deploy_aggregate(
        chain.w3, chain.owner, DECIMALS, DESCRIPTION, keys, proofs, 1
    )


def test_a_report_digest_binds_the_domain() -> None:
    body = report_body([Entry(0, 1, 1)], 1)

    assert report_digest(Domain(1, "0x" + "11" * 20), body) != report_digest(
        Domain(2, "0x" + "11" * 20), body
    )
    assert len(keccak(body)) == 32


async def test_rejects_a_report_whose_set_size_is_not_the_sets(chain: Chain) -> None:
    # Every member signs a body that claims two more (made-up) members: positions 3 and 4.
    members = Members.fresh(3)
    feed = await deploy_aggregate(chain, members, 2)
    now = await chain.now()
    entries = [Entry(i, v, now) for i, v in enumerate([1, 2, 3, 100, 100])]
    body = report_body(entries, 5)
    s, r = multi_sign(members.secrets, report_digest(feed.domain(), body))
    total = add(members.keys)
    report = (
        body
        + s.to_bytes(32, "big")
        + bytes.fromhex(r[2:])
        + total.x.to_bytes(32, "big")
        + bytes([total.parity])
        + keys_hash(members.keys)  # as if every member of a 5-member set had signed
    )

    error = await rejected_with(call_aggregate_raw(chain, feed.address, report))

    assert error.error_name == "SignerSetMismatch"


async def test_a_running_sum_equal_to_the_next_key_doubles(chain: Chain) -> None:
    # Members 0, 1 and 3 named, member 3's key the sum of 0's and 2's... here of 0's and 1's:
    # the contract's running sum meets an equal point and must double it, as Python does.
    a, b, h = Members.fresh(3).secrets
    members = Members([a, b, h, (a + b) % N])
    feed = await deploy_aggregate(chain, members, 3)
    entries = [Entry(p, v, await chain.now()) for p, v in ((0, 10), (1, 20), (3, 30))]

    await feed.submit_report(signed_report(feed.domain(), members, entries), chain.owner)

    assert (await feed.latest_round_data()).answer == 20


async def test_a_running_sum_through_the_point_at_infinity_goes_on(chain: Chain) -> None:
    # Members 0, 1 and 2 cancel out; member 3 named after them is the whole signing key.
    a, b, h = Members.fresh(3).secrets
    members = Members([a, b, (-(a + b)) % N, h])
    feed = await deploy_aggregate(chain, members, 4)
    entries = entries_at(await chain.now(), [1, 2, 3, 4])

    await feed.submit_report(signed_report(feed.domain(), members, entries), chain.owner)

    assert (await feed.latest_round_data()).answer == 2
