"""The committed contract artifact is exactly what the pinned compiler makes of the source."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from publisher.compile import ARTIFACT_PATH, load_artifact, render
from publisher.report import REPORT_FORMAT
from publisher.toolchain import find_node_modules


def test_recompiling_the_source_reproduces_the_committed_artifact_byte_for_byte() -> None:
    node_modules = find_node_modules()
    if node_modules is None or not (node_modules / "solc").is_dir():
        pytest.skip("npm package solc is not installed (run `npm ci`); cannot recompile")
    from publisher.compile import compile_artifact

    assert render(compile_artifact()) == ARTIFACT_PATH.read_text(encoding="utf-8")


def test_artifact_records_the_pinned_compiler_and_settings() -> None:
    artifact = load_artifact()

    assert artifact["compiler"]["version"].startswith("0.8.28+")
    assert artifact["settings"]["evmVersion"] == "cancun"
    assert artifact["settings"]["optimizer"]["enabled"] is True


def test_no_function_selector_begins_with_the_report_format_byte() -> None:
    # A report is raw calldata for `fallback`: a selector starting with its first byte could
    # route a report to that function instead.
    functions = [e for e in load_artifact()["abi"] if e["type"] == "function"]
    selectors = {
        keccak(text=f"{f['name']}({','.join(i['type'] for i in f['inputs'])})")[:4]
        for f in functions
    }

    assert functions
    assert all(selector[0] != REPORT_FORMAT for selector in selectors)
    assert any(e["type"] == "fallback" for e in load_artifact()["abi"])
