"""A feed's breaker settings. Plain data: the config layer builds it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BreakerParams:
    """Bounds of every check, and the state machine's timing. A bound of None turns its check off.

    - `max_deviation`: largest move against the last published value (0.10 = 10%).
    - `volatility_k`, `volatility_floor`, `volatility_window`: a move larger than
      max(`volatility_k` x σ, `volatility_floor`) trips, σ being the EWMA (span
      `volatility_window` allowed rounds) of the squared relative moves between allowed values;
      checked once `volatility_window` moves were seen.
    - `max_dispersion`: largest dispersion (scaled MAD of the venues, relative).
    - `max_quote_age_ms`: largest median age of the quotes behind the value.
    - `max_rate_per_min`: largest relative move per minute since the last allowed value.
    - `confirm_rounds`, `confirm_band`: consecutive rounds, each within the band of the
      previous one, that confirm a move (the aggregate is quorum-backed by construction).
    - `max_hold_ms`: never hold longer: then follow the current quorum-backed value.
    - `cooldown_ms`: how long a half-open breaker must see clean rounds before closing.
    """

    max_deviation: float = 0.10
    confirm_rounds: int = 3
    confirm_band: float = 0.02
    max_hold_ms: int = 600_000
    cooldown_ms: int = 30_000
    volatility_k: float | None = None
    volatility_floor: float = 0.01
    volatility_window: int = 30
    max_dispersion: float | None = 0.02
    max_quote_age_ms: int | None = None
    max_rate_per_min: float | None = None

    def __post_init__(self) -> None:
        if self.max_deviation <= 0 or self.confirm_band <= 0:
            raise ValueError("max_deviation and confirm_band must be positive")
        if self.confirm_rounds < 1 or self.max_hold_ms <= 0:
            raise ValueError("confirm_rounds must be >= 1 and max_hold_ms positive")
        if self.cooldown_ms < 0 or self.volatility_window < 1 or self.volatility_floor < 0:
            raise ValueError(
                "cooldown_ms and volatility_floor must be >= 0 and volatility_window >= 1"
            )
        for name in ("volatility_k", "max_dispersion", "max_quote_age_ms", "max_rate_per_min"):
            bound = getattr(self, name)
            if bound is not None and bound <= 0:
                raise ValueError(f"{name} must be positive (or None to turn it off)")

    @property
    def volatility_alpha(self) -> float:
        """The EWMA weight of the newest squared move: 2 / (window + 1)."""
        return 2.0 / (self.volatility_window + 1)


DeviationParams = BreakerParams
"""The former name of the breaker settings, kept for callers that still use it."""
