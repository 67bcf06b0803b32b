"""The relay schedule and the report a relay submits: pure functions every node computes alike."""

from __future__ import annotations

import pytest
from eth_account import Account

from node.relay import NoReport, Report, is_relay, overdue, plan_report, relay_of, slot_of
from publisher.eip712 import SignedObservation
from publisher.policy import LastPublished, PublishPolicy, PublishReason

SIGNERS = [Account.create().address for _ in range(5)]
POLICY = PublishPolicy(deviation=0.005, heartbeat_s=60)


def obs(value: int, timestamp: int, signer: str) -> SignedObservation:
    return SignedObservation(value, timestamp, signer, b"\x00" * 65)


def test_slot_is_the_floor_of_time_over_slot_length() -> None:
    assert [slot_of(t, 3) for t in (0, 2.99, 3, 8.5)] == [0, 0, 1, 2]


def test_relay_does_not_depend_on_signer_order_or_spelling() -> None:
    shuffled = [s.lower() for s in reversed(SIGNERS)]
    for slot in range(20):
        assert int(relay_of(slot, "BTC/USD", SIGNERS), 16) == int(
            relay_of(slot, "BTC/USD", shuffled), 16
        )


def test_relay_rotates_through_every_signer_in_consecutive_slots() -> None:
    relays = [relay_of(slot, "ETH/USD", SIGNERS) for slot in range(100, 105)]
    assert sorted(relays) == sorted(SIGNERS)


def test_exactly_one_signer_is_relay_of_a_feed_at_any_time() -> None:
    for now_s in range(0, 60, 1):
        assert sum(is_relay(now_s, 3, "BTC/USD", SIGNERS, me) for me in SIGNERS) == 1


def test_feeds_are_spread_over_signers_within_one_slot() -> None:
    feeds = ["BTC/USD", "ETH/USD", "USDT/USD", "SOL/USD", "LINK/USD"]
    assert len({relay_of(7, f, SIGNERS) for f in feeds}) > 1


def test_overdue_once_a_whole_slot_passed_since_the_update_was_due() -> None:
    assert not overdue(None, 100, 3)
    assert not overdue(97, 100, 3)
    assert overdue(96, 100, 3)


def test_report_needs_the_quorum_of_distinct_signers() -> None:
    same_signer_twice = [
        obs(100, 10, SIGNERS[0]),
        obs(101, 10, SIGNERS[0]),
        obs(99, 10, SIGNERS[1]),
    ]
    plan = plan_report(same_signer_twice, 3, POLICY, None, 0, 10)
    assert isinstance(plan, NoReport)
    assert "2 usable" in plan.reason


def test_report_ignores_observations_not_newer_than_the_chain() -> None:
    observations = [obs(100, 10, SIGNERS[0]), obs(100, 5, SIGNERS[1]), obs(100, 11, SIGNERS[2])]
    assert isinstance(plan_report(observations, 3, POLICY, None, 5, 12), NoReport)


def test_report_stores_lower_median_and_oldest_timestamp_like_the_contract() -> None:
    observations = [
        obs(1000, 12, SIGNERS[0]),
        obs(10_000, 11, SIGNERS[1]),  # one node x10: outvoted
        obs(990, 10, SIGNERS[2]),
        obs(1010, 12, SIGNERS[3]),
    ]
    plan = plan_report(observations, 3, POLICY, None, 0, 12)
    assert isinstance(plan, Report)
    assert plan.answer == 1000
    assert plan.updated_at == 10
    assert [o.value for o in plan.observations] == [990, 1000, 1010, 10_000]
    assert plan.reason is PublishReason.FIRST


@pytest.mark.parametrize(
    ("median", "now_s", "expected"),
    [(1004, 20, None), (1005, 20, PublishReason.DEVIATION), (1000, 70, PublishReason.HEARTBEAT)],
)
def test_report_follows_the_publish_policy_on_the_median(
    median: int, now_s: int, expected: PublishReason | None
) -> None:
    observations = [obs(median, now_s, s) for s in SIGNERS[:3]]
    plan = plan_report(observations, 3, POLICY, LastPublished(1000, 10), 10, now_s)
    if expected is None:
        assert isinstance(plan, NoReport)
    else:
        assert isinstance(plan, Report)
        assert plan.reason is expected
