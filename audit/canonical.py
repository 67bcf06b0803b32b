"""Canonical JSON: the exact bytes that are hashed and stored, identical on every machine.

Keys sorted, no whitespace, floats in Python's shortest round-trip form (so a replay reads back
the very same doubles). Non-finite floats, which JSON cannot carry, become the strings "nan",
"inf" and "-inf": a venue that answers NaN is recorded as it answered.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Replace non-finite floats by their string names, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(
        to_jsonable(value),
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
        ensure_ascii=True,
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
