"""Compile the feed contracts offline with the pinned solcjs and write the committed artifacts.

Usage: `python -m publisher.compile` (writes publisher/contracts/build/NAME.json for each
contract in CONTRACTS) or `python -m publisher.compile --check` (exit 1 if a committed
artifact is out of date).

The artifacts are reproducible: the same sources, compiler and settings give the same bytes,
which a test checks. Sources are named by their bare file names in the standard-JSON input (and
import each other by those names) so the metadata hash inside the bytecode does not depend on
where the repository is checked out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from publisher.toolchain import find_node_modules

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
#: The deployable contracts: one per signature scheme (per-signer ECDSA, aggregated Schnorr).
CONTRACTS = ("OracleFeed", "OracleFeedAggregate")
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


class CompilerUnavailableError(RuntimeError):
    """node or the npm `solc` package is missing: run `npm ci` at the repository root."""


class CompilationError(RuntimeError):
    """solc reported errors; the message holds solc's formatted diagnostics."""


def artifact_path(name: str = "OracleFeed") -> Path:
    """Where contract `name`'s artifact is committed."""
    return BUILD_DIR / f"{name}.json"


def standard_json_input() -> dict[str, Any]:
    """The solc standard-JSON input: every source in the contracts folder."""
    return {
        "language": "Solidity",
        "sources": {
            path.name: {"content": path.read_text(encoding="utf-8")}
            for path in sorted(CONTRACTS_DIR.glob("*.sol"))
        },
        "settings": SETTINGS,
    }


def compile_artifacts() -> dict[str, dict[str, Any]]:
    """Compile the sources; each deployable contract's artifact (abi, bytecode, compiler,
    settings) by name."""
    node_modules = find_node_modules()
    if node_modules is None or not (node_modules / "solc").is_dir():
        raise CompilerUnavailableError("npm package solc not found; run `npm ci` at the repo root")
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    try:
        done = subprocess.run(
            ["node", str(CONTRACTS_DIR / "solc_standard_json.js")],
            input=json.dumps(standard_json_input()),
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    except FileNotFoundError as exc:
        raise CompilerUnavailableError("node is not on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise CompilationError(exc.stderr.strip()) from exc
    result = json.loads(done.stdout)
    output = result["output"]
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise CompilationError("\n".join(e["formattedMessage"] for e in errors))
    artifacts = {}
    for name in CONTRACTS:
        contract = output["contracts"][f"{name}.sol"][name]
        artifacts[name] = {
            "contractName": name,
            "sourceName": f"{name}.sol",
            "compiler": {"name": "solc", "version": result["version"]},
            "settings": SETTINGS,
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The artifact's canonical text: what is committed and compared byte for byte."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def load_artifact(name: str = "OracleFeed") -> dict[str, Any]:
    """Contract `name`'s committed artifact, as the rest of the publisher uses it."""
    loaded: dict[str, Any] = json.loads(artifact_path(name).read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    artifacts = compile_artifacts()
    if "--check" in args:
        stale = [
            name
            for name, artifact in artifacts.items()
            if not artifact_path(name).is_file()
            or artifact_path(name).read_text(encoding="utf-8") != render(artifact)
        ]
        for name in stale:
            print(
                f"{artifact_path(name)} is out of date: run python -m publisher.compile",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for name, artifact in artifacts.items():
        artifact_path(name).write_text(render(artifact), encoding="utf-8")
        print(f"wrote {artifact_path(name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
