"""Injected faults: what a venue does wrong, when, and what that does to its replies.

A `Fault` is one kind of misbehaviour of one venue over a time window. A `Scenario` is a
seed, a tick and a list of faults, read from a TOML or JSON file (see README, "Venues and the
simulator"): times are seconds after the simulator starts. Everything here is pure: given the
faults and a time, `VenueState` says how the venue answers.

Kinds, and what a client sees:
- transport: `latency` (answers `latency_s` late), `timeout` (holds the request 30 s),
  `http_429` (Too Many Requests, Retry-After), `http_5xx` (`status`, default 503; `down` and
  `http_500` are the 503 and 500 shorthands), `malformed` (HTTP 200, truncated JSON),
  `gone` (the connection is closed without an answer);
- data: `stale` (every body, prices and timestamps, is `lag_s` old), `frozen` (every body is
  the one from the moment the fault started), `manipulation` (prices x `factor`),
  `flash_crash` (prices fall by `depth` and recover over the fault's duration, a V),
  `halted` (the book is empty: bid and ask 0, the last trade frozen);
- streams: `stream_stall` (websocket pushes stop, the connection stays open); `gone`, `down`
  and `timeout` also silence streams.
`symbols` limits the price faults (`manipulation`, `flash_crash`, `halted`) to those markets.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FaultKind = Literal[
    "latency", "timeout", "http_429", "http_5xx", "down", "http_500", "malformed", "gone",
    "stale", "frozen", "manipulation", "flash_crash", "halted", "stream_stall",
]  # fmt: skip
FAULT_KINDS: Final[tuple[str, ...]] = FaultKind.__args__  # type: ignore[attr-defined]

TRANSPORT_KINDS: Final = frozenset(
    {"latency", "timeout", "http_429", "http_5xx", "down", "http_500", "malformed", "gone"}
)
SILENT_STREAM_KINDS: Final = frozenset({"stream_stall", "gone", "down", "timeout"})
PRICE_KINDS: Final = frozenset({"manipulation", "flash_crash", "halted"})


class ScenarioError(ValueError):
    """The scenario file cannot be used. The operator fixes it; nothing was started."""


class FaultSpec(BaseModel):
    """What a venue does wrong (without when): the body of `POST /_sim/venues/{venue}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    symbols: tuple[str, ...] | None = None
    latency_s: float = Field(1.0, ge=0, le=60)
    status: int = Field(503, ge=500, le=599)
    factor: float = Field(1.1, gt=0, le=1000)
    depth: float = Field(0.3, gt=0, lt=1)
    lag_s: float = Field(120.0, gt=0)


class Fault(FaultSpec):
    """A `FaultSpec` for `venue`, from `start_s` for `duration_s` (None: for good)."""

    venue: str
    start_s: float = Field(0.0, ge=0)
    duration_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _crash_has_a_shape(self) -> Fault:
        if self.kind == "flash_crash" and self.duration_s is None:
            raise ValueError("a flash_crash needs duration_s (it falls and recovers over it)")
        return self

    def active(self, elapsed_s: float) -> bool:
        if elapsed_s < self.start_s:
            return False
        return self.duration_s is None or elapsed_s < self.start_s + self.duration_s

    def covers(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols


class Scenario(BaseModel):
    """A seeded market and its scheduled faults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 1
    tick_s: float = Field(1.0, gt=0)
    faults: tuple[Fault, ...] = ()

    def check_venues(self, venues: Iterable[str]) -> None:
        known = set(venues)
        unknown = sorted({fault.venue for fault in self.faults} - known)
        if unknown:
            raise ScenarioError(
                f"unknown venue(s) {', '.join(unknown)}; simulated: {', '.join(sorted(known))}"
            )


def load_scenario(path: Path | str) -> Scenario:
    """A scenario from a `.toml` or `.json` file; `ScenarioError` says what is wrong where."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {error}"
        ) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: "
            f"{str(item['msg']).removeprefix('Value error, ')}"
            for item in error.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from None


@dataclass(frozen=True, slots=True)
class VenueState:
    """How one venue answers at one instant, from the faults active on it then."""

    faults: tuple[Fault, ...]
    elapsed_s: float

    def transport(self) -> Fault | None:
        """The transport fault in force (the first listed wins), if any."""
        return next((f for f in self.faults if f.kind in TRANSPORT_KINDS), None)

    def stream_silent(self) -> bool:
        return any(f.kind in SILENT_STREAM_KINDS for f in self.faults)

    def clock_s(self, now_s: float, start_s: float) -> float:
        """The time the venue's bodies describe: now, or earlier when stale or frozen."""
        shown = now_s
        for fault in self.faults:
            if fault.kind == "stale":
                shown = min(shown, now_s - fault.lag_s)
            elif fault.kind == "frozen":
                shown = min(shown, start_s + fault.start_s)
        return shown

    def price_factor(self, symbol: str) -> float:
        factor = 1.0
        for fault in self.faults:
            if not fault.covers(symbol):
                continue
            if fault.kind == "manipulation":
                factor *= fault.factor
            elif fault.kind == "flash_crash" and fault.duration_s is not None:
                progress = (self.elapsed_s - fault.start_s) / fault.duration_s
                factor *= 1.0 - fault.depth * (1.0 - abs(2.0 * progress - 1.0))
        return factor

    def halted(self, symbol: str) -> bool:
        return any(f.kind == "halted" and f.covers(symbol) for f in self.faults)


def venue_state(faults: Sequence[Fault], venue: str, elapsed_s: float) -> VenueState:
    """The faults of `venue` active `elapsed_s` seconds after the start."""
    active = tuple(f for f in faults if f.venue == venue and f.active(elapsed_s))
    return VenueState(active, elapsed_s)
