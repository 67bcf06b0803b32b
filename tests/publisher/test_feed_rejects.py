"""OracleFeed refuses every batch that breaks one of its invariants, naming the broken one."""

from __future__ import annotations

import pytest
from feed_helpers import Chain, as_report, call_submit_raw, make_signers, raw_report, sign_all

from publisher.eip712 import MAX_LOW_S, Domain
from publisher.errors import TransactionRevertedError

MAX_FUTURE_DRIFT = 60


async def rejected_with(coro: object) -> TransactionRevertedError:
    with pytest.raises(TransactionRevertedError) as raised:
        await coro  # type: ignore[misc]
    return raised.value


async def test_rejects_an_unauthorized_signer(chain: Chain, deploy_feed) -> None:
    signers = make_signers(2)
    outsider = make_signers(1)[0]
    feed = await deploy_feed(signers, 2)
    batch = await sign_all(feed.domain(), [signers[0], outsider], [1, 2], await chain.now())

    error = await rejected_with(feed.submit(batch, chain.owner))

    assert (error.error_name, error.error_args) == ("UnauthorizedSigner", (1, outsider.address))


async def test_rejects_the_same_signer_twice(chain: Chain, deploy_feed) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 2)
    batch = await sign_all(feed.domain(), [signers[0], signers[0]], [1, 2], await chain.now())

    error = await rejected_with(feed.submit(batch, chain.owner))

    assert (error.error_name, error.error_args) == ("DuplicateSigner", (1, signers[0].address))


async def test_rejects_values_not_sorted_ascending(chain: Chain, deploy_feed) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 3)
    batch = await sign_all(feed.domain(), signers, [1, 3, 2], await chain.now())

    error = await rejected_with(
        call_submit_raw(chain, feed.address, as_report(batch, [s.address for s in signers]))
    )

    assert (error.error_name, error.error_args) == ("ValuesNotSorted", (2,))


async def test_accepts_equal_values_as_sorted(chain: Chain, deploy_feed) -> None:
    signers = make_signers(3)
    feed = await deploy_feed(signers, 3)
    batch = await sign_all(feed.domain(), signers, [7, 7, 7], await chain.now())

    await call_submit_raw(chain, feed.address, as_report(batch, [s.address for s in signers]))


async def test_rejects_fewer_observations_than_the_quorum(chain: Chain, deploy_feed) -> None:
    signers = make_signers(5)
    feed = await deploy_feed(signers, 3)
    batch = await sign_all(feed.domain(), signers[:2], [1, 2], await chain.now())

    error = await rejected_with(feed.submit(batch, chain.owner))

    assert (error.error_name, error.error_args) == ("NotEnoughObservations", (2, 3))


async def test_rejects_a_timestamp_not_newer_than_the_last_update(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    now = await chain.now()
    await feed.submit(await sign_all(feed.domain(), signers, [1], now), chain.owner)

    error = await rejected_with(
        feed.submit(await sign_all(feed.domain(), signers, [2], now), chain.owner)
    )

    assert (error.error_name, error.error_args) == ("StaleObservation", (0, now, now))


async def test_rejects_a_replay_of_an_observation_from_the_last_batch(
    chain: Chain, deploy_feed
) -> None:
    # updatedAt is the OLDEST timestamp of a batch; the freshness bar is the NEWEST, so the
    # younger observations of an accepted batch cannot be replayed into a new round.
    signers = make_signers(2)
    feed = await deploy_feed(signers, 1)
    now = await chain.now()
    domain = feed.domain()
    first = [
        await signers[0].sign_observation(domain, 1, now - 10),
        await signers[1].sign_observation(domain, 2, now),
    ]
    await feed.submit(first, chain.owner)

    error = await rejected_with(feed.submit(first[1:], chain.owner))

    assert (error.error_name, error.error_args) == ("StaleObservation", (0, now, now))


async def test_rejects_a_timestamp_too_far_in_the_future(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    far = await chain.now() + 10 * MAX_FUTURE_DRIFT

    error = await rejected_with(
        feed.submit(await sign_all(feed.domain(), signers, [1], far), chain.owner)
    )

    assert error.error_name == "TimestampTooFarInFuture"


async def test_accepts_a_timestamp_within_the_allowed_drift(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    soon = await chain.now() + MAX_FUTURE_DRIFT // 2

    outcome = await feed.submit(await sign_all(feed.domain(), signers, [1], soon), chain.owner)

    assert outcome.round_id == 1


async def test_rejects_a_signature_for_another_chain_id(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    elsewhere = Domain(feed.chain_id + 1, feed.address)
    batch = await sign_all(elsewhere, signers, [1], await chain.now())

    error = await rejected_with(feed.submit(batch, chain.owner))

    assert error.error_name == "UnauthorizedSigner"


async def test_rejects_a_signature_for_another_feed_contract(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    other_feed = await deploy_feed(signers, 1)
    batch = await sign_all(other_feed.domain(), signers, [1], await chain.now())

    error = await rejected_with(feed.submit(batch, chain.owner))

    assert error.error_name == "UnauthorizedSigner"


async def test_rejects_a_high_s_signature(chain: Chain, deploy_feed) -> None:
    # In EIP-2098 form the top bit of vs is the recovery bit, so the malleable twin (n - s)
    # of a real signature almost never fits; the guard is checked with s just above n/2.
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    [observation] = await sign_all(feed.domain(), signers, [1], await chain.now())
    r, _ = observation.compact()
    high_s = (MAX_LOW_S + 1).to_bytes(32, "big")

    error = await rejected_with(
        call_submit_raw(
            chain,
            feed.address,
            raw_report([(1, observation.timestamp, r, high_s, 0)], [signers[0].address]),
        )
    )

    assert (error.error_name, error.error_args) == ("HighSSignature", (0,))


async def test_rejects_a_signature_that_recovers_no_address(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    zero = bytes(32)

    error = await rejected_with(
        call_submit_raw(
            chain,
            feed.address,
            raw_report([(1, await chain.now(), zero, zero, 0)], [signers[0].address]),
        )
    )

    assert (error.error_name, error.error_args) == ("InvalidSignature", (0,))


async def test_rejects_a_value_the_signer_did_not_sign(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    [observation] = await sign_all(feed.domain(), signers, [100], await chain.now())
    r, vs = observation.compact()

    error = await rejected_with(
        call_submit_raw(
            chain,
            feed.address,
            raw_report([(1_000_000, observation.timestamp, r, vs, 0)], [signers[0].address]),
        )
    )

    assert error.error_name in ("UnauthorizedSigner", "InvalidSignature")


async def test_rejects_a_report_of_another_format(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    batch = await sign_all(feed.domain(), signers, [1], await chain.now())
    report = as_report(batch, [signers[0].address])

    error = await rejected_with(call_submit_raw(chain, feed.address, b"\x01" + report[1:]))

    assert (error.error_name, error.error_args) == ("MalformedReport", (len(report),))


async def test_rejects_a_truncated_report(chain: Chain, deploy_feed) -> None:
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    batch = await sign_all(feed.domain(), signers, [1], await chain.now())
    report = as_report(batch, [signers[0].address])[:-1]

    error = await rejected_with(call_submit_raw(chain, feed.address, report))

    assert (error.error_name, error.error_args) == ("MalformedReport", (len(report),))


async def test_rejects_bytes_after_the_absent_members(chain: Chain, deploy_feed) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 1)
    [observation] = await sign_all(feed.domain(), signers[:1], [1], await chain.now())
    r, vs = observation.compact()
    report = raw_report(
        [(1, observation.timestamp, r, vs, 0)], [s.address for s in signers], trailing=b"\x00"
    )

    error = await rejected_with(call_submit_raw(chain, feed.address, report))

    assert error.error_name == "MalformedReport"


async def test_rejects_a_base_timestamp_that_no_observation_carries(
    chain: Chain, deploy_feed
) -> None:
    # updatedAt is the report's base: it must be the oldest observation's own timestamp.
    signers = make_signers(1)
    feed = await deploy_feed(signers, 1)
    [observation] = await sign_all(feed.domain(), signers, [1], await chain.now())
    report = bytearray(as_report([observation], [signers[0].address]))
    report[4] = 1  # one offset byte: 0 + the signed timestamp - (base - 1) = 1
    report[5:13] = (observation.timestamp - 1).to_bytes(8, "big")
    report[13 + 2 : 13 + 2] = b"\x01"

    error = await rejected_with(call_submit_raw(chain, feed.address, bytes(report)))

    assert error.error_name == "MalformedReport"


async def test_rejects_one_signer_placed_at_two_positions(chain: Chain, deploy_feed) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 2)
    now = await chain.now()
    first = await signers[0].sign_observation(feed.domain(), 1, now)
    second = await signers[0].sign_observation(feed.domain(), 2, now - 1)
    items = [(o.value, o.timestamp, *o.compact(), i) for i, o in enumerate([first, second])]

    error = await rejected_with(
        call_submit_raw(chain, feed.address, raw_report(items, [s.address for s in signers]))
    )

    assert (error.error_name, error.error_args) == ("DuplicateSigner", (1, signers[0].address))


async def test_rejects_a_report_built_for_another_order_of_the_set(
    chain: Chain, deploy_feed
) -> None:
    signers = make_signers(2)
    feed = await deploy_feed(signers, 2)
    batch = await sign_all(feed.domain(), signers, [1, 2], await chain.now())
    swapped = [signers[1].address, signers[0].address]

    error = await rejected_with(call_submit_raw(chain, feed.address, as_report(batch, swapped)))

    assert error.error_name == "SignerSetMismatch"


async def test_rejects_a_report_naming_a_removed_member_as_absent(
    chain: Chain, deploy_feed
) -> None:
    old = make_signers(2)
    feed = await deploy_feed(old, 1)
    replacement = make_signers(1)[0]
    await feed.set_signers([old[0].address, replacement.address], 1, chain.owner)
    batch = await sign_all(feed.domain(), old[:1], [1], await chain.now())

    error = await rejected_with(
        call_submit_raw(chain, feed.address, as_report(batch, [s.address for s in old]))
    )

    assert error.error_name == "SignerSetMismatch"
