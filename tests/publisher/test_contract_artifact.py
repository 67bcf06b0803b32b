"""The committed contract artifact is exactly what the pinned compiler makes of the source."""

from __future__ import annotations

import pytest

from publisher.compile import ARTIFACT_PATH, load_artifact, render
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
