"""Launch a local anvil (Foundry's dev node) for the demo and the tests.

`async with running_anvil() as anvil:` starts anvil on 127.0.0.1 (a free port by default),
waits until its RPC answers, and on exit terminates it and waits for it: no process is left
behind, even when the body raises or is cancelled.

The binary is `$ORACLE_NODE_ANVIL`, else `<repo>/node_modules/.bin/anvil` (npm
`@foundry-rs/anvil-linux-amd64`, pinned in package.json), else `anvil` on PATH.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from publisher.toolchain import find_node_modules

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
DEV_CHAIN_ID = 31337
_LISTENING = re.compile(rb"Listening on 127\.0\.0\.1:(\d+)")
_STARTUP_TIMEOUT_S = 15.0


class AnvilNotFoundError(RuntimeError):
    """No anvil binary: run `npm ci` at the repository root or set ORACLE_NODE_ANVIL."""


class AnvilStartError(RuntimeError):
    """anvil exited or did not start listening; the message ends with its last output."""


@dataclass(frozen=True, slots=True)
class Anvil:
    """A running anvil. `dev_keys` are the funded accounts' private keys (hex, 0x-prefixed)
    derived from the well-known public dev mnemonic: worthless outside a dev chain."""

    rpc_url: str
    chain_id: int
    port: int
    dev_keys: tuple[str, ...]
    pid: int

    @property
    def dev_addresses(self) -> tuple[str, ...]:
        return tuple(Account.from_key(key).address for key in self.dev_keys)


def find_anvil() -> Path:
    """The anvil binary to run (see the module docstring for the search order)."""
    configured = os.environ.get("ORACLE_NODE_ANVIL")
    if configured:
        return Path(configured)
    node_modules = find_node_modules()
    if node_modules is not None and (node_modules / ".bin" / "anvil").exists():
        return node_modules / ".bin" / "anvil"
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFoundError("anvil not found: run `npm ci` or set ORACLE_NODE_ANVIL")


def dev_private_keys(count: int = DEV_ACCOUNT_COUNT) -> tuple[str, ...]:
    """Private keys of anvil's default accounts (BIP-44 path m/44'/60'/0'/0/i)."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        "0x" + Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.hex()
        for i in range(count)
    )


@asynccontextmanager
async def running_anvil(
    port: int = 0, block_time: float | None = None, *, steps_tracing: bool = False
) -> AsyncIterator[Anvil]:
    """Run anvil for the duration of the block; `block_time` None means mine on demand;
    `steps_tracing` makes debug_traceTransaction return every opcode step (structLogs)."""
    args = [
        str(find_anvil()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(DEV_CHAIN_ID),
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", str(DEV_ACCOUNT_COUNT),
    ]  # fmt: skip
    if block_time is not None:
        args += ["--block-time", f"{block_time:g}"]
    if steps_tracing:
        args.append("--steps-tracing")
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    tail: deque[bytes] = deque(maxlen=40)
    drain: asyncio.Task[None] | None = None
    try:
        try:
            bound = await asyncio.wait_for(_wait_listening(process, tail), _STARTUP_TIMEOUT_S)
        except TimeoutError:
            raise AnvilStartError("anvil did not start listening: " + _render(tail)) from None
        # anvil logs every RPC call; keep reading so a full pipe never blocks it.
        drain = asyncio.create_task(_drain(process, tail))
        rpc_url = f"http://127.0.0.1:{bound}"
        chain_id = await _wait_rpc(rpc_url)
        assert process.pid is not None
        yield Anvil(rpc_url, chain_id, bound, dev_private_keys(), process.pid)
    finally:
        await _stop(process)
        if drain is not None:
            drain.cancel()
            with suppress(asyncio.CancelledError):
                await drain


async def _wait_listening(process: asyncio.subprocess.Process, tail: deque[bytes]) -> int:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        tail.append(line)
        found = _LISTENING.search(line)
        if found:
            return int(found.group(1))
    raise AnvilStartError(f"anvil exited with {await process.wait()}: {_render(tail)}")


async def _drain(process: asyncio.subprocess.Process, tail: deque[bytes]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        tail.append(line)


async def _wait_rpc(rpc_url: str) -> int:
    """Poll eth_chainId until anvil answers; return the chain id."""
    w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url))
    try:
        for _ in range(100):
            with suppress(OSError, TimeoutError):
                chain_id: int = await w3.eth.chain_id
                return chain_id
            await asyncio.sleep(0.05)
        raise AnvilStartError(f"anvil at {rpc_url} never answered eth_chainId")
    finally:
        await w3.provider.disconnect()


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()


def _render(tail: deque[bytes]) -> str:
    return b"".join(tail).decode("utf-8", "replace").strip()[-2000:]
