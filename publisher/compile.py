"""Compile OracleFeed.sol offline with the pinned solcjs and write the committed artifact.

Usage: `python -m publisher.compile` (writes publisher/contracts/build/OracleFeed.json) or
`python -m publisher.compile --check` (exit 1 if the committed artifact is out of date).

The artifact is reproducible: the same source, compiler and settings give the same bytes,
which a test checks. The source is named by its bare file name in the standard-JSON input so
the metadata hash inside the bytecode does not depend on where the repository is checked out.
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
SOURCE_PATH = CONTRACTS_DIR / "OracleFeed.sol"
ARTIFACT_PATH = CONTRACTS_DIR / "build" / "OracleFeed.json"
CONTRACT_NAME = "OracleFeed"
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


class CompilerUnavailableError(RuntimeError):
    """node or the npm `solc` package is missing: run `npm ci` at the repository root."""


class CompilationError(RuntimeError):
    """solc reported errors; the message holds solc's formatted diagnostics."""


def standard_json_input() -> dict[str, Any]:
    """The solc standard-JSON input for the feed contract."""
    return {
        "language": "Solidity",
        "sources": {SOURCE_PATH.name: {"content": SOURCE_PATH.read_text(encoding="utf-8")}},
        "settings": SETTINGS,
    }


def compile_artifact() -> dict[str, Any]:
    """Compile the contract and return the artifact (abi, bytecode, compiler, settings)."""
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
    contract = output["contracts"][SOURCE_PATH.name][CONTRACT_NAME]
    return {
        "contractName": CONTRACT_NAME,
        "sourceName": SOURCE_PATH.name,
        "compiler": {"name": "solc", "version": result["version"]},
        "settings": SETTINGS,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }


def render(artifact: dict[str, Any]) -> str:
    """The artifact's canonical text: what is committed and compared byte for byte."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def load_artifact() -> dict[str, Any]:
    """The committed artifact, as the rest of the publisher uses it."""
    loaded: dict[str, Any] = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render(compile_artifact())
    if "--check" in args:
        if ARTIFACT_PATH.read_text(encoding="utf-8") != text:
            print(
                f"{ARTIFACT_PATH} is out of date: run python -m publisher.compile", file=sys.stderr
            )
            return 1
        return 0
    ARTIFACT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {ARTIFACT_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
