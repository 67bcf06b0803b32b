"""Benchmark: `GET /v1/feeds/BTC-USD` of the real node app against a bare aiohttp handler.

    .venv/bin/python bench/http.py [--requests 50000] [--concurrency 64] [--rounds 40]

The real server is `oracle-node`'s own app over a node that has completed a round against the
simulator (its own process): real state, the rate limiter on (set high enough not to refuse),
the query check, ETag and Cache-Control. The baseline is a bare aiohttp app, in its own
process too, answering the very same bytes. The load generator (this process) holds
`--concurrency` keep-alive HTTP/1.1 connections with one request in flight on each, on raw
asyncio protocol callbacks (status line and Content-Length parsed, every body compared with
the expected bytes). After a warm-up it sends `--requests` requests to each server in
`--rounds` short runs, the servers taking turns (the order swapped every round), so load from
elsewhere on the machine falls on both alike; each server's rps is the median of its runs,
its p99 and CPU per request over all of them. It costs a third or less of a server's CPU per request, so on this 2-core machine the
server's core is the bottleneck.
Prints one JSON line: `{"rps", "p99_ms", "bare_rps", "bare_p99_ms", "ratio", "cpu_ratio", ...}`
with the servers' and the generator's CPU microseconds per request (Linux `/proc`) and the load
average. `cpu_ratio` (bare CPU / node CPU per request) depends less than `ratio` on what else
the machine runs meanwhile: a busy machine slows the generator and both servers alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script, this file's folder comes first on the path and this file's name shadows
    # the standard library's `http` (which aiohttp imports): look in the repository instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import json
import os
import statistics
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from tempfile import TemporaryDirectory
from typing import NamedTuple
from urllib.parse import urlsplit

from aiohttp import web

from node.app import running_node
from node.config import NodeConfig
from node.devstack import local_config_toml, simulator_process

PATH = "/v1/feeds/BTC-USD"


async def serve_real(simulator_url: str, folder: Path) -> None:
    """The node's app after one round against the simulator; prints its URL, serves until EOF."""
    toml = local_config_toml(
        simulator_url=simulator_url, rpc_url=None, keystore=None, passphrase_file=None,
        contracts={}, journal=folder / "journal.db", http_port=0, round_interval_s=3600.0,
    )  # fmt: skip
    toml = toml.replace("[http]\n", "[http]\nrate_limit_per_s = 1e9\nrate_limit_burst = 1000000\n")
    config = NodeConfig(**tomllib.loads(toml))
    async with running_node(config) as running:
        for _ in range(600):
            if running.node.status["BTC/USD"].value_answer is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("no BTC/USD value after 30 s")
        print(running.http_url, flush=True)
        await _until_stdin_closes()


async def serve_bare(body: bytes) -> None:
    """A bare aiohttp app answering `body` as JSON; prints its URL, serves until EOF."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get(PATH, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await _until_stdin_closes()
    await runner.cleanup()


async def _until_stdin_closes() -> None:
    await asyncio.to_thread(sys.stdin.read)


@asynccontextmanager
async def server_process(*args: str) -> AsyncIterator[tuple[str, int]]:
    """`bench/http.py --serve ...` as a child process; yields the URL it prints and its pid."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 90)
        if not line.startswith(b"http://"):
            raise SystemExit(f"server did not start: {line.decode()!r}")
        yield line.decode().strip(), process.pid
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


REQUEST_TEMPLATE = "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench-http\r\n\r\n"


class BenchError(Exception):
    """The server answered something other than 200 with the expected body."""


class _Run:
    """One measured run: requests left to send, latencies, and the future set when all are in."""

    def __init__(self, requests: int, connections: int, expected: bytes) -> None:
        self.left = requests
        self.busy = connections
        self.expected = expected
        self.latencies: list[float] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def fail(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    def idle(self) -> None:
        self.busy -= 1
        if self.busy == 0 and not self.done.done():
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request in flight at a time.

    Parses the status line and `Content-Length` (the servers measured send no chunked bodies)
    and compares every body with the expected bytes: a wrong answer fails the run rather than
    counting as a fast one. Protocol callbacks, no task or stream per request, so the
    generator spends a small fraction of what the server does per request.
    """

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.run: _Run | None = None
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.run is not None:
            self.run.fail(BenchError(f"connection closed mid-run: {exc}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def start(self, run: _Run) -> None:
        self.run = run
        self._next()

    def _next(self) -> None:
        run = self.run
        assert run is not None
        assert self.transport is not None
        if run.left <= 0:
            self.run = None
            run.idle()
            return
        run.left -= 1
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            return self._fail(BenchError(f"no Content-Length: {head[:300]!r}"))
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : None if line_end < 0 else line_end])
        end = head_end + 4 + length
        if len(buffer) < end:
            return
        finished = time.perf_counter()
        run = self.run
        assert run is not None
        body = bytes(buffer[head_end + 4 : end])
        if not head.startswith(b"http/1.1 200 ") or body != run.expected:
            return self._fail(BenchError(f"unexpected answer: {head[:100]!r} {body[:200]!r}"))
        del buffer[:end]
        run.latencies.append(finished - self.sent_at)
        self._next()

    def _fail(self, error: Exception) -> None:
        if self.run is not None:
            self.run.fail(error)
        assert self.transport is not None
        self.transport.close()


def _address(url: str) -> tuple[str, int, bytes]:
    """(host, port, the request's bytes) for `http://host:port`."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise SystemExit(f"not an http://host:port URL: {url!r}")
    request = REQUEST_TEMPLATE.format(path=PATH, host=parts.netloc).encode()
    return parts.hostname, parts.port, request


async def fetch(url: str) -> tuple[int, bytes]:
    """One plain GET of `PATH` (status, body), to learn the body every answer must equal."""
    host, port, request = _address(url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        return int(head.split(" ", 2)[1]), await reader.readexactly(length)
    finally:
        writer.close()
        await writer.wait_closed()


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far (Linux `/proc`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Figures(NamedTuple):
    rps: float
    p99_ms: float
    server_cpu_us: float  # per request
    client_cpu_us: float  # per request, this process


class Target:
    """One server under load: its keep-alive connections and the totals of its runs so far."""

    def __init__(self, url: str, pid: int, expected: bytes) -> None:
        self.host, self.port, self.request = _address(url)
        self.pid = pid
        self.expected = expected
        self.connections: list[_Connection] = []
        self.requests = 0
        self.server_cpu_s = 0.0
        self.client_cpu_s = 0.0
        self.latencies: list[float] = []
        self.run_rps: list[float] = []

    async def open(self, concurrency: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(concurrency):
            _, protocol = await loop.create_connection(
                lambda: _Connection(self.request), self.host, self.port
            )
            self.connections.append(protocol)

    async def _send(self, count: int) -> _Run:
        state = _Run(count, len(self.connections), self.expected)
        for connection in self.connections:
            connection.start(state)
        await state.done
        return state

    async def warm_up(self, count: int) -> None:
        """Requests not counted: caches filled, both sides' code paths hot."""
        await self._send(count)

    async def run(self, count: int) -> None:
        """`count` requests over every connection, one in flight on each, added to the totals."""
        server_cpu, client_cpu = cpu_s(self.pid), time.process_time()
        started = time.perf_counter()
        state = await self._send(count)
        elapsed_s = time.perf_counter() - started
        self.run_rps.append(count / elapsed_s)
        self.server_cpu_s += cpu_s(self.pid) - server_cpu
        self.client_cpu_s += time.process_time() - client_cpu
        self.requests += count
        self.latencies += state.latencies

    async def close(self) -> None:
        for connection in self.connections:
            assert connection.transport is not None
            connection.transport.close()
        await asyncio.gather(*(c.lost for c in self.connections))

    def figures(self) -> Figures:
        latencies = sorted(self.latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        per_request_us = 1e6 / self.requests
        return Figures(
            statistics.median(self.run_rps),
            p99 * 1000,
            self.server_cpu_s * per_request_us,
            self.client_cpu_s * per_request_us,
        )


async def compare(
    real: Target, bare: Target, requests: int, concurrency: int, rounds: int
) -> tuple[Figures, Figures]:
    """`requests` to each server in `rounds` runs, the two servers taking turns.

    Short alternating runs, the order swapped every round, give both servers the same share of
    whatever else the machine does meanwhile, and each server's rps is the median of its runs:
    on a shared machine a load burst costs a run or two, not one server's whole figure.
    """
    for target in (real, bare):
        await target.open(concurrency)
    try:
        for target in (real, bare):
            await target.warm_up(min(2000, requests))
        per_round = max(1, requests // rounds)
        for round_ in range(rounds):
            for target in (real, bare) if round_ % 2 == 0 else (bare, real):
                await target.run(per_round)
    finally:
        for target in (real, bare):
            await target.close()
    return real.figures(), bare.figures()


async def main(requests: int, concurrency: int, rounds: int) -> dict[str, object]:
    with TemporaryDirectory() as folder:
        async with (
            simulator_process() as sim_url,
            server_process("--serve", "real", sim_url, folder) as (real_url, real_pid),
        ):
            status, body = await fetch(real_url)
            if status != 200:
                raise SystemExit(f"{real_url}{PATH}: HTTP {status} {body[:200]!r}")
            (Path(folder) / "body.json").write_bytes(body)
            bare_args = ("--serve", "bare", str(Path(folder) / "body.json"))
            async with server_process(*bare_args) as (bare_url, bare_pid):
                if await fetch(bare_url) != (200, body):
                    raise SystemExit("the bare server does not answer the node's bytes")
                real = Target(real_url, real_pid, body)
                bare = Target(bare_url, bare_pid, body)
                node, baseline = await compare(real, bare, requests, concurrency, rounds)
    return {
        "rps": round(node.rps),
        "p99_ms": round(node.p99_ms, 2),
        "bare_rps": round(baseline.rps),
        "bare_p99_ms": round(baseline.p99_ms, 2),
        "ratio": round(node.rps / baseline.rps, 3),
        "cpu_ratio": round(baseline.server_cpu_us / node.server_cpu_us, 3),
        "server_cpu_us_per_req": round(node.server_cpu_us, 1),
        "bare_server_cpu_us_per_req": round(baseline.server_cpu_us, 1),
        "client_cpu_us_per_req": round(node.client_cpu_us, 1),
        "requests": real.requests,
        "rounds": rounds,
        "concurrency": concurrency,
        "body_bytes": len(body),
        "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=50_000, help="per server")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=40, help="turns each server takes")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, *rest = args.serve
        if kind == "real":
            asyncio.run(serve_real(rest[0], Path(rest[1])))
        else:
            asyncio.run(serve_bare(Path(rest[0]).read_bytes()))
        return
    print(json.dumps(asyncio.run(main(args.requests, args.concurrency, args.rounds))))


if __name__ == "__main__":
    cli()
