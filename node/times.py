"""Reading a moment as people write it: unix seconds, unix milliseconds or ISO 8601."""

from __future__ import annotations

import math
from datetime import UTC, datetime

MAX_TIME_MS = 253_402_300_799_999
"""The last millisecond of year 9999: later "times" are typos, and overflow SQLite's integers."""


def parse_time_ms(text: str) -> int:
    """Unix seconds, unix milliseconds (numbers above 1e11) or ISO 8601 -> unix milliseconds.

    An ISO 8601 time without an offset is UTC. Raises ValueError naming the text otherwise,
    and for a time before 1970 or after year 9999.
    """
    try:
        number = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not unix time or ISO 8601") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = round(moment.timestamp() * 1000)
    else:
        if not math.isfinite(number):
            raise ValueError(f"{text!r} is not a time")
        ms = round(number if number > 1e11 else number * 1000)
    if not 0 <= ms <= MAX_TIME_MS:
        raise ValueError(f"{text!r} is outside 1970 to 9999")
    return ms
