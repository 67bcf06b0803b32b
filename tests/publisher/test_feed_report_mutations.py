"""The contract's single-pass check against the rules, on many reports: every valid report is
accepted with the right median and updatedAt, and no one-bit change of a valid report is."""

from __future__ import annotations

import random

import pytest
from feed_helpers import Chain, call_submit_raw, make_signers

from publisher.errors import TransactionRevertedError
from publisher.report import encode_report


async def test_random_valid_reports_are_accepted_with_their_lower_median(
    chain: Chain, deploy_feed
) -> None:
    rng = random.Random(7)
    signers = make_signers(7)
    feed = await deploy_feed(signers, 2)
    members = [s.address for s in signers]
    spacing = 100_000
    start = await chain.now() - 13 * spacing
    for round_ in range(12):
        chosen = rng.sample(signers, rng.randint(2, 7))
        newest = start + spacing * (round_ + 1)
        spread = rng.choice([1, 60, 70_000])  # no offset bytes, one, three
        observations = [
            await s.sign_observation(
                feed.domain(), rng.choice([-1, 1]) * rng.randrange(2 ** rng.randint(1, 190)),
                newest - rng.randrange(spread),
            )
            for s in chosen
        ]  # fmt: skip
        report = encode_report(observations, members)

        await call_submit_raw(chain, feed.address, report)
        outcome = await feed.submit(observations, chain.owner)

        values = sorted(o.value for o in observations)
        latest = await feed.latest_round_data()
        assert outcome.round_id == round_ + 1
        assert latest.answer == values[(len(values) - 1) // 2]
        assert latest.updated_at == min(o.timestamp for o in observations)


async def test_no_one_bit_change_of_a_valid_report_is_accepted(chain: Chain, deploy_feed) -> None:
    signers = make_signers(5)
    feed = await deploy_feed(signers, 3)
    now = await chain.now()
    observations = [
        await s.sign_observation(feed.domain(), 6_000_000_000_000 + 7 * i, now - i)
        for i, s in enumerate(signers[1:4])
    ]
    report = encode_report(observations, [s.address for s in signers])
    await call_submit_raw(chain, feed.address, report)  # valid as it is

    rng = random.Random(11)
    for position in range(len(report)):
        mutated = bytearray(report)
        mutated[position] ^= 1 << rng.randrange(8)

        with pytest.raises(TransactionRevertedError):
            await call_submit_raw(chain, feed.address, bytes(mutated))
