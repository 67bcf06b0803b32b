"""Reading a moment as people write it: unix seconds, unix milliseconds or ISO 8601."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def parse_time_ms(text: str) -> int:
    """Unix seconds, unix milliseconds (numbers above 1e11) or ISO 8601 -> unix milliseconds.

    An ISO 8601 time without an offset is UTC. Raises ValueError naming the text otherwise.
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
        return round(moment.timestamp() * 1000)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{text!r} is not a time")
    return round(number if number > 1e11 else number * 1000)
