"""Exact replay on the packed columns proves what the round-by-round replay finds, or defers to it.

`prove_exact` either returns the very report of the round-by-round replay (no mismatch) or None,
and `replay_records` then runs round by round: whatever a journal holds, the report is the one
the round-by-round replay gives.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import AggregationParams, FeedSpec, SourceSpec
from audit.journal import Journal, JournalRecord
from audit.packed import PACKED_KEY, pack_round
from circuit_breakers import BreakerParams
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import FeedRule, RoundRules
from node.replay import replay_records, result_from_json
from node.replay_proof import prove_exact
from node.service import OracleNode
from publisher.policy import PublishPolicy
from tests.node.fakes import FakeClock, RecordingChain


class Walk:
    """Seeded walks for F feeds on 5 venues. `rough`: venues sometimes fail, lag, or quote far
    off the others; `jump`: the price sometimes leaps (breakers trip, hold, confirm)."""

    def __init__(self, clock: FakeClock, feeds: int, seed: int, rough: bool, jump: bool) -> None:
        self.clock = clock
        self.rnd = random.Random(seed)
        self.prices = [self.rnd.uniform(10, 1000) for _ in range(feeds)]
        self.rough = rough
        self.jump = jump

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        rnd, now = self.rnd, self.clock()
        self.prices = [
            p * (1.4 if self.jump and rnd.random() < 0.05 else 1 + rnd.gauss(0, 0.004))
            for p in self.prices
        ]
        out: list[FetchResult] = []
        for venue, symbols in wanted.items():
            for symbol in symbols:
                roll = rnd.random() if self.rough else 0.3
                if roll < 0.06:
                    kind = FailureKind.BAD_DATA if roll < 0.02 else FailureKind.TEMPORARY
                    out.append(FetchFailure(venue, symbol, kind, "timeout \x00 ü", now))
                    continue
                price = self.prices[int(symbol[1:].split("/")[0])] * (1 + rnd.gauss(0, 0.0005))
                if roll > 0.95:
                    price *= 1.3  # an outlier
                stamp = None if 0.3 < roll < 0.35 else now - (20_000 if 0.5 < roll < 0.55 else 100)
                book = (price * 0.999, price * 1.001) if roll < 0.8 else (None, None)
                out.append(Quote(venue, symbol, price, now, stamp, *book, 10.0))
        return out


def walk_rules(feeds: int) -> RoundRules:
    return RoundRules.build(
        FeedRule(
            FeedSpec(
                f"F{f}/USD",
                tuple(SourceSpec(f"v{s}", f"F{f}/USD") for s in range(4 + f % 2)),
                AggregationParams(quorum=3),
            ),
            BreakerParams(max_quote_age_ms=10_000 if f % 2 else None, confirm_rounds=2),
            PublishPolicy(0.01, 60),
            8,
            f != 2,
        )
        for f in range(feeds)
    )


async def run_node(
    path: Path, rounds: int, *, rough: bool, jump: bool, events: bool = False
) -> list[JournalRecord]:
    """A node's journal over `rounds` rounds of 3 feeds; `events`: a restart, an operator's
    breaker reset and a pause on the way."""
    clock = FakeClock()
    rules = walk_rules(3)
    venues = {f"v{s}": [f"F{f}/USD" for f in range(3)] for s in range(5)}
    walk = Walk(clock, 3, seed=7, rough=rough, jump=jump)

    async def start() -> tuple[Journal, OracleNode]:
        store = await Journal.open(path)
        node = OracleNode(rules, venues, walk, store, RecordingChain(store), clock, 3.0, "cfg")
        await node.start()
        return store, node

    store, node = await start()
    for n in range(rounds):
        if events and n == rounds // 3:
            await store.close()
            store, node = await start()
        if events and n == rounds // 2:
            node.request_breaker_reset("F0/USD")
            node.request_pause("F1/USD", True)
        if events and n == rounds // 2 + 5:
            node.request_pause("F1/USD", False)
        await node.run_round()
        clock.advance(10)
    records = await store.records()
    await store.close()
    return records


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> list[JournalRecord]:
    path = tmp_path_factory.mktemp("calm") / "j.db"
    return asyncio.run(run_node(path, 30, rough=False, jump=False))


@pytest.fixture(scope="module")
def rough(tmp_path_factory: pytest.TempPathFactory) -> list[JournalRecord]:
    path = tmp_path_factory.mktemp("rough") / "j.db"
    return asyncio.run(run_node(path, 60, rough=True, jump=True, events=True))


def rules_for(_: str) -> RoundRules:
    return walk_rules(3)


def round_by_round(records: list[JournalRecord], **window: Any) -> dict[str, Any]:
    return replay_records(records, rules_for, columns=False, **window).as_json()


def proven(records: list[JournalRecord], **window: Any) -> dict[str, Any] | None:
    report = prove_exact(records, rules_for, result_from_json, **window)
    return None if report is None else report.as_json()


def test_a_calm_journal_is_proven_with_the_round_by_round_report(
    calm: list[JournalRecord],
) -> None:
    assert all(r.packed is not None for r in calm if r.kind == "round")
    report = proven(calm)
    assert report is not None
    assert report == round_by_round(calm)
    assert report["mismatches"] == []
    assert report["feed_rounds"] == 90


def test_a_rough_journal_is_proven_with_the_round_by_round_report(
    rough: list[JournalRecord],
) -> None:
    feeds = [f for r in rough if r.kind == "round" for f in r.body["feeds"].values()]
    # What the rows the columns do not carry look like: all present in this journal.
    assert any(f["aggregate"]["sources_rejected"] for f in feeds)
    assert any(f["aggregate"]["value"] is None for f in feeds)
    assert any(f["breaker"]["verdict"] not in ("within", "first") for f in feeds)
    assert {"session", "breaker_reset", "feed_paused", "outcome"} <= {r.kind for r in rough}
    report = proven(rough)
    assert report is not None
    assert report == round_by_round(rough)


@pytest.mark.parametrize(
    "window",
    [{"feed": "F1/USD"}, {"from_ms": 1_700_000_200_000}, {"to_ms": 1_700_000_300_000}],
    ids=["one-feed", "from", "to"],
)
def test_a_window_is_proven_with_the_round_by_round_report(
    rough: list[JournalRecord], window: dict[str, Any]
) -> None:
    report = proven(rough, **window)
    assert report is not None
    assert report == round_by_round(rough, **window)


def test_progress_counts_the_round_records(rough: list[JournalRecord]) -> None:
    seen: list[int] = []
    assert prove_exact(rough, rules_for, result_from_json, progress=seen.append) is not None
    assert seen == sorted(seen)
    assert seen[-1] == sum(1 for r in rough if r.kind == "round")


def test_a_journal_without_columns_is_left_to_the_round_by_round_replay(
    calm: list[JournalRecord],
) -> None:
    bare = [replace(r, packed=None) for r in calm]
    assert proven(bare) is None
    assert replay_records(bare, rules_for).as_json() == round_by_round(calm)


@pytest.mark.parametrize("blob", [b"", b"ORPK" + bytes(60), b"not a packed round at all"])
def test_bytes_that_are_not_packed_columns_leave_the_replay_to_the_json(
    calm: list[JournalRecord], blob: bytes
) -> None:
    records = list(calm)
    n = [i for i, r in enumerate(records) if r.kind == "round"][3]
    records[n] = replace(records[n], packed=blob)
    assert proven(records) is None
    report = replay_records(records, rules_for)
    assert report.checked_on == "rounds"
    assert report.as_json() == round_by_round(calm)


def repacked(rec: JournalRecord, body: dict[str, Any]) -> JournalRecord:
    """`rec` as if its node had journaled `body`: columns and their hash made again."""
    body = {k: v for k, v in body.items() if k != PACKED_KEY}
    blob = pack_round(body)
    assert blob is not None
    return replace(rec, body={**body, PACKED_KEY: hashlib.sha256(blob).hexdigest()}, packed=blob)


def edit(body: dict[str, Any], path: Sequence[Any], value: Any) -> None:
    holder: Any = body
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value(holder[path[-1]])


def nudge(x: float) -> float:
    return math.nextafter(x, math.inf)


EDITS = {
    "value": (("feeds", "F0/USD", "aggregate", "value"), nudge),
    "used-price": (("feeds", "F0/USD", "aggregate", "sources_used", 1, "price"), nudge),
    "raw-price": (("feeds", "F0/USD", "aggregate", "sources_used", 0, "raw_price"), nudge),
    "used-stamp": (("feeds", "F0/USD", "aggregate", "sources_used", 0, "ts_ms"), lambda t: t + 1),
    "weight": (("feeds", "F0/USD", "aggregate", "sources_used", 2, "weight"), lambda w: w * 2),
    "band": (("feeds", "F0/USD", "aggregate", "band", "low"), nudge),
    "dispersion": (("feeds", "F0/USD", "aggregate", "dispersion"), nudge),
    "estimator": (("feeds", "F0/USD", "aggregate", "estimator"), lambda _: "mean"),
    "answer": (("feeds", "F0/USD", "answer"), lambda a: str(int(a) + 1)),
    "publish": (("feeds", "F0/USD", "publish"), lambda p: None if p else "heartbeat"),
    "allow": (("feeds", "F0/USD", "breaker", "allow"), lambda a: not a),
    "reason": (("feeds", "F0/USD", "breaker", "reason"), lambda r: r + "!"),
    "trips": (("feeds", "F0/USD", "breaker", "trips"), lambda t: [*t, "deviation"]),
    "variance": (("feeds", "F0/USD", "breaker", "state", "variance"), nudge),
    "samples": (("feeds", "F0/USD", "breaker", "state", "samples"), lambda s: s + 1),
    "reference": (("feeds", "F0/USD", "breaker", "state", "reference"), nudge),
    # The int64 minimum stands for None in the breaker's arrays: as a value it is not a None.
    "since": (("feeds", "F0/USD", "breaker", "state", "since_ms"), lambda _: -(2**63)),
    "half-open": (("feeds", "F0/USD", "breaker", "state", "half_open_ms"), lambda _: -(2**63)),
    "quote": (("results", 0, "price"), nudge),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_a_round_journaled_otherwise_is_not_proven_and_is_reported_round_by_round(
    calm: list[JournalRecord], name: str
) -> None:
    records = list(calm)
    n = [i for i, r in enumerate(records) if r.kind == "round"][12]
    body = copy.deepcopy(records[n].body)
    path, value = EDITS[name]
    edit(body, path, value)
    records[n] = repacked(records[n], body)

    assert proven(records) is None
    mismatches = replay_records(records, rules_for).mismatches
    assert mismatches
    assert mismatches[0].round_id == records[n].round_id


def test_a_config_the_columns_cannot_check_is_left_to_the_round_by_round_replay(
    calm: list[JournalRecord],
) -> None:
    # An off-chain feed never asks its publish policy, so an infinite deviation threshold
    # (which has no integer ratio) replays fine round by round.
    rules = walk_rules(3)
    feeds = tuple(
        r if r.on_chain else replace(r, policy=PublishPolicy(math.inf, 60)) for r in rules.feeds
    )
    odd = RoundRules(feeds, rules.layout)
    assert prove_exact(calm, lambda _: odd, result_from_json) is None
    report = replay_records(calm, lambda _: odd)
    assert report.checked_on == "rounds"
    assert report.mismatches == []


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves(v, (*path, k))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in leaves(v, (*path, i))]
    return [path]


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, float):
        return nudge(value)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return "x" if value is None else None


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_whatever_a_round_holds_the_report_is_the_round_by_round_one(
    rough: list[JournalRecord], data: st.DataObject
) -> None:
    records = list(rough)
    rounds = [i for i, r in enumerate(records) if r.kind == "round"]
    n = data.draw(st.sampled_from(rounds))
    body = copy.deepcopy(records[n].body)
    candidates = [
        p
        for p in leaves({"feeds": body["feeds"], "results": body["results"]})
        if "observation" not in p
    ]
    for path in data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3)):
        edit(body, path, changed)
    if pack_round({k: v for k, v in body.items() if k != PACKED_KEY}) is None:
        return  # a body the columns cannot carry: nothing to prove on them
    records[n] = repacked(records[n], body)

    try:
        expected = round_by_round(records)
    except ValueError as refused:  # e.g. a failure of no known kind: the journal is refused
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            replay_records(records, rules_for)
        return
    assert replay_records(records, rules_for).as_json() == expected
