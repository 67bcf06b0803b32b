"""Benchmark: `GET /v1/feeds/BTC-USD` of the real node app against a bare aiohttp handler.

    .venv/bin/python bench/http.py [--requests 20000] [--concurrency 64] [--repeats 2]

The real server is `oracle-node`'s own app over a node that has completed a round against the
simulator (its own process): real state, the rate limiter on (set high enough not to refuse),
the query check, ETag and Cache-Control. The baseline is a bare aiohttp app, in its own
process too, answering the very same bytes. The load generator (this process) keeps
`--concurrency` requests in flight on as many connections and sends `--requests` requests per
run (after a warm-up), alternating real and bare runs `--repeats` times and keeping each
server's best run. On this 2-core machine a server and the load generator each get a core.
Prints one JSON line: `{"rps", "p99_ms", "bare_rps", "bare_p99_ms", "ratio", ...}`.
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
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from tempfile import TemporaryDirectory

import aiohttp
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
async def server_process(*args: str) -> AsyncIterator[str]:
    """`bench/http.py --serve ...` as a child process; yields the URL it prints."""
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
        yield line.decode().strip()
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def load(url: str, requests: int, concurrency: int) -> tuple[float, float, bytes]:
    """(requests per second, p99 latency in ms, one body) at `concurrency` requests in flight."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        latencies: list[float] = []
        left = [requests]
        body = b""

        async def worker() -> None:
            nonlocal body
            while left[0] > 0:
                left[0] -= 1
                start = time.perf_counter()
                async with session.get(url + PATH) as response:
                    data = await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{url}{PATH}: HTTP {response.status} {data[:200]!r}")
                latencies.append(time.perf_counter() - start)
                body = data

        left[0] = min(2000, requests)  # warm-up: connections opened, caches filled
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        latencies.clear()
        left[0] = requests
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return requests / elapsed, p99 * 1000, body


async def main(requests: int, concurrency: int, repeats: int) -> dict[str, object]:
    with TemporaryDirectory() as folder:
        async with (
            simulator_process() as sim_url,
            server_process("--serve", "real", sim_url, folder) as real_url,
        ):
            _, _, body = await load(real_url, 200, 4)
            (Path(folder) / "body.json").write_bytes(body)
            bare_args = ("--serve", "bare", str(Path(folder) / "body.json"))
            async with server_process(*bare_args) as bare_url:
                real: list[tuple[float, float]] = []
                bare: list[tuple[float, float]] = []
                for _ in range(repeats):
                    rps, p99, real_body = await load(real_url, requests, concurrency)
                    real.append((rps, p99))
                    rps, p99, bare_body = await load(bare_url, requests, concurrency)
                    bare.append((rps, p99))
    best, best_bare = max(real), max(bare)
    return {
        "rps": round(best[0]),
        "p99_ms": round(best[1], 2),
        "bare_rps": round(best_bare[0]),
        "bare_p99_ms": round(best_bare[1], 2),
        "ratio": round(best[0] / best_bare[0], 3),
        "requests": requests,
        "concurrency": concurrency,
        "body_bytes": len(body),
        "same_body": real_body == bare_body,
        "cores": os.cpu_count(),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, *rest = args.serve
        if kind == "real":
            asyncio.run(serve_real(rest[0], Path(rest[1])))
        else:
            asyncio.run(serve_bare(Path(rest[0]).read_bytes()))
        return
    print(json.dumps(asyncio.run(main(args.requests, args.concurrency, args.repeats))))


if __name__ == "__main__":
    cli()
