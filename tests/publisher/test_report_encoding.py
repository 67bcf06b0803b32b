"""The report's bytes: every field in the fewest bytes that hold it, signers who signed carry
no address, the members who did not sign follow in set order."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from publisher.eip712 import INT192_MAX, INT192_MIN, SignedObservation
from publisher.report import (
    HEADER_BYTES,
    NOT_A_MEMBER,
    REPORT_FORMAT,
    encode_report,
    signer_set_commitment,
    value_width,
)

SIGNATURE = bytes(range(1, 33)) + bytes(range(2, 34)) + bytes([27])
SET = [Account.create().address for _ in range(4)]


def observation(signer: str, value: int, timestamp: int) -> SignedObservation:
    return SignedObservation(value, timestamp, signer, SIGNATURE)


@pytest.mark.parametrize(
    ("value", "width"),
    [
        (0, 1),
        (127, 1),
        (128, 2),
        (-128, 1),
        (-129, 2),
        (6_000_000_000_000, 6),
        (INT192_MAX, 24),
        (INT192_MIN, 24),
    ],
)
def test_a_value_takes_the_fewest_twos_complement_bytes(value: int, width: int) -> None:
    assert value_width(value) == width


def test_a_value_outside_int192_is_refused() -> None:
    with pytest.raises(ValueError, match="int192"):
        value_width(INT192_MAX + 1)


def test_header_names_format_counts_widths_and_the_oldest_timestamp() -> None:
    report = encode_report(
        [observation(SET[2], 300, 1_000_010), observation(SET[0], 100, 1_000_000)], SET
    )

    assert report[:5] == bytes([REPORT_FORMAT, 2, 4, 2, 1])
    assert int.from_bytes(report[5:HEADER_BYTES], "big") == 1_000_000


def test_observations_are_sorted_by_value_and_name_their_signer_position() -> None:
    report = encode_report(
        [observation(SET[2], 300, 1_000_010), observation(SET[0], 100, 1_000_000)], SET
    )
    record = 1 + 2 + 1 + 64

    first, second = (report[HEADER_BYTES + k * record :][:record] for k in range(2))
    assert (first[0], int.from_bytes(first[1:3], "big", signed=True), first[3]) == (0, 100, 0)
    assert (second[0], int.from_bytes(second[1:3], "big", signed=True), second[3]) == (2, 300, 10)
    assert first[4:68] == SIGNATURE[:64]


def test_only_the_members_who_did_not_sign_travel_as_addresses_in_set_order() -> None:
    report = encode_report([observation(SET[1], 5, 7), observation(SET[3], 6, 7)], SET)

    absent = report[-40:]
    assert absent == bytes.fromhex(SET[0][2:]) + bytes.fromhex(SET[2][2:])
    assert len(report) == HEADER_BYTES + 2 * (1 + 1 + 0 + 64) + 2 * 20


def test_a_report_signed_by_the_whole_set_carries_no_address() -> None:
    report = encode_report([observation(a, 1, 7) for a in SET], SET)

    assert len(report) == HEADER_BYTES + 4 * (1 + 1 + 0 + 64)


def test_one_shared_timestamp_needs_no_offset_bytes() -> None:
    report = encode_report([observation(SET[0], -1, 1_700_000_000)], SET[:1])

    assert report[3:5] == bytes([1, 0])
    assert report[HEADER_BYTES + 1] == 0xFF  # -1 in one byte


def test_a_claimed_signer_outside_the_set_is_left_for_the_contract_to_refuse() -> None:
    outsider = Account.create().address
    report = encode_report([observation(outsider, 1, 7)], SET[:1])

    assert report[HEADER_BYTES] == NOT_A_MEMBER
    assert report.endswith(bytes.fromhex(SET[0][2:]))


def test_timestamps_too_far_apart_for_one_report_are_refused() -> None:
    with pytest.raises(ValueError, match="apart"):
        encode_report([observation(SET[0], 1, 0), observation(SET[1], 1, 2**56)], SET)


def test_commitment_hashes_the_addresses_as_32_byte_words() -> None:
    words = b"".join(bytes(12) + bytes.fromhex(a[2:]) for a in SET)

    assert signer_set_commitment(SET) == keccak(words)[:20]
