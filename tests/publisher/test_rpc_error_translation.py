"""What a node says becomes a publisher error that tells who acts next."""

from __future__ import annotations

import aiohttp
import pytest
from eth_utils.crypto import keccak
from web3.exceptions import ContractCustomError, Web3RPCError

from publisher.chain_errors import RevertDecoder, translate_errors
from publisher.compile import load_artifact
from publisher.errors import (
    ChainUnavailableError,
    FeeCapError,
    InsufficientFundsError,
    NonceConflictError,
    NonceTooLowError,
    PublishError,
    ReplacementUnderpricedError,
    TransactionRevertedError,
)

DECODER = RevertDecoder(load_artifact()["abi"])


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("insufficient funds for gas * price + value", InsufficientFundsError),
        ("nonce too low: next nonce 5, tx nonce 4", NonceTooLowError),
        ("already known", NonceConflictError),
        ("replacement transaction underpriced", ReplacementUnderpricedError),
        ("max fee per gas less than block base fee", FeeCapError),
        ("tx fee (1.20 ether) exceeds the configured cap (1.00 ether)", FeeCapError),
        ("rate limit exceeded", ChainUnavailableError),
        ("method eth_foo does not exist", PublishError),
    ],
)
def test_rpc_error_messages_are_classified(message: str, expected: type[PublishError]) -> None:
    with pytest.raises(expected), translate_errors(DECODER):
        raise Web3RPCError(message, rpc_response={"error": {"code": -32000, "message": message}})


def test_connection_failure_is_chain_unavailable() -> None:
    with pytest.raises(ChainUnavailableError), translate_errors(DECODER):
        raise aiohttp.ClientConnectionError("connection refused")


def test_custom_error_data_decodes_to_the_error_name_and_arguments() -> None:
    data = "0x" + (keccak(text="ValuesNotSorted(uint256)")[:4] + (3).to_bytes(32, "big")).hex()

    with pytest.raises(TransactionRevertedError) as raised, translate_errors(DECODER, "0xab"):
        raise ContractCustomError(data, data=data)

    assert (raised.value.error_name, raised.value.error_args) == ("ValuesNotSorted", (3,))
    assert raised.value.tx_hash == "0xab"


def test_unknown_revert_data_is_named_unknown() -> None:
    assert DECODER.decode("0xdeadbeef") == ("unknown", ())
    assert DECODER.decode(None) == ("unknown", ())
