"""The committed contract artifacts are exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from publisher.aggregate_report import AGGREGATE_REPORT_FORMAT
from publisher.compile import CONTRACTS, artifact_path, load_artifact, render
from publisher.report import REPORT_FORMAT
from publisher.toolchain import find_node_modules


def test_recompiling_the_sources_reproduces_every_committed_artifact_byte_for_byte() -> None:
    node_modules = find_node_modules()
    if node_modules is None or not (node_modules / "solc").is_dir():
        pytest.skip("npm package solc is not installed (run `npm ci`); cannot recompile")
    from publisher.compile import compile_artifacts

    artifacts = compile_artifacts()

    assert set(artifacts) == set(CONTRACTS)
    for name, artifact in artifacts.items():
        assert render(artifact) == artifact_path(name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("name", CONTRACTS)
def test_artifact_records_the_pinned_compiler_and_settings(name: str) -> None:
    artifact = load_artifact(name)

    assert artifact["compiler"]["version"].startswith("0.8.28+")
    assert artifact["settings"]["evmVersion"] == "cancun"
    assert artifact["settings"]["optimizer"]["enabled"] is True


@pytest.mark.parametrize(
    ("name", "report_format"),
    [("OracleFeed", REPORT_FORMAT), ("OracleFeedAggregate", AGGREGATE_REPORT_FORMAT)],
)
def test_no_function_selector_begins_with_the_report_format_byte(
    name: str, report_format: int
) -> None:
    # A report is raw calldata for `fallback`: a selector starting with its first byte could
    # route a report to that function instead.
    functions = [e for e in load_artifact(name)["abi"] if e["type"] == "function"]
    selectors = {
        keccak(text=f"{f['name']}({','.join(i['type'] for i in f['inputs'])})")[:4]
        for f in functions
    }

    assert functions
    assert all(selector[0] != report_format for selector in selectors)
    assert any(e["type"] == "fallback" for e in load_artifact(name)["abi"])
