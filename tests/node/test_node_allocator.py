"""The node raises glibc's malloc thresholds so array rounds reuse freed memory."""

from __future__ import annotations

import platform

import pytest

from node.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_thresholds() -> None:
    assert keep_freed_memory() is True
