"""Specification of the node's log lines: JSON, with feed and round ids, and what to do."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from audit.journal import Journal
from node.logs import configure_logging
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Log output of the whole process as configured by `oracle-node`, restored afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    yield out
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line, parsed: a line that is not JSON fails the test."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_json_whoever_logs_it(stream: io.StringIO) -> None:
    logging.getLogger("aiohttp.server").error("a library line %s", "with args")
    structlog.get_logger("oracle.test").info("a structlog line", answer=42)
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("oracle.node").exception("round failed")
    parsed = lines(stream)
    assert [p["event"] for p in parsed] == [
        "a library line with args",
        "a structlog line",
        "round failed",
    ]
    assert (parsed[0]["logger"], parsed[0]["level"]) == ("aiohttp.server", "error")
    assert parsed[1]["answer"] == 42
    assert "ValueError: broken" in parsed[2]["exception"]
    assert all(p["timestamp"].endswith("Z") for p in parsed)


def test_console_format_is_for_people(stream: io.StringIO) -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", out)
    logging.getLogger("oracle.node").warning("venue %s slow", "kraken")
    text = out.getvalue()
    assert "venue kraken slow" in text
    assert not text.lstrip().startswith("{")
    assert stream.getvalue() == ""  # the handler was replaced, not added


async def test_a_breaker_opening_names_feed_round_and_what_to_do(
    stream: io.StringIO, tmp_path: Path
) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    quotes = FixedQuotes(clock, 60_000.0)
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    await node.start()
    await node.run_round()
    clock.advance(10)
    quotes.price = 90_000.0
    await node.run_round()
    await journal.close()
    [alert] = [p for p in lines(stream) if p["event"].startswith("ALERT")]
    assert (alert["level"], alert["feed"], alert["round_id"]) == ("error", "BTC/USD", 2)
    assert alert["action"] == (
        "check venues a, b, c (GET /v1/venues); if the move is real and must be followed now, "
        "reset with POST /v1/admin/feeds/BTC-USD/breaker/reset"
    )
    published = [p for p in lines(stream) if "published answer" in p["event"]]
    assert [(p["feed"], p["round_id"]) for p in published] == [("BTC/USD", 1)]
    assert "action" not in published[0]


async def test_an_unfunded_sender_is_told_which_account_to_fund_on_which_chain(
    stream: io.StringIO, tmp_path: Path
) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    chain = RecordingChain(journal, fail=True)
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), chain)
    await node.start()
    await node.run_round()
    await journal.close()
    [failure] = [p for p in lines(stream) if "publication failed" in p["event"]]
    assert (failure["feed"], failure["round_id"]) == ("BTC/USD", 1)
    assert failure["action"] == (
        f"fund {chain.address} on chain 31337; publication resumes by itself once funded"
    )


def test_without_a_stream_lines_go_to_stderr_as_it_is_when_they_are_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("INFO", "json")
    replaced = io.StringIO()
    monkeypatch.setattr("sys.stderr", replaced)  # e.g. the old stderr was closed meanwhile
    try:
        logging.getLogger("oracle.node").warning("after stderr changed")
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
    [line] = lines(replaced)
    assert line["event"] == "after stderr changed"
