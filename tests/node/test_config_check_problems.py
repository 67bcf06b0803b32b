"""Specification of `oracle-node config check FILE`: every problem, each at its line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from node.cli import main
from node.config import ConfigError, load_config
from node.config_check import check_config

GOOD = """\
[node]
round_interval_s = 5
journal = "journal.db"

[venues.kraken]
[venues.bitstamp]
[venues.gemini]

[[feeds]]
id = "BTC/USD"
sources = ["kraken:BTC/USD", "bitstamp:BTC/USD", "gemini:BTC/USD"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(textwrap.dedent(text))
    return path


def lines_of(path: Path) -> dict[str, int | None]:
    return {p.key: p.line for p in check_config(path)}


def test_a_good_config_passes_with_a_one_line_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"{path}: OK: 1 feed(s), 3 venue(s), no [chain]: nothing is published"]


def test_every_problem_is_reported_with_its_line_and_the_exit_code_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        """\
        [node]
        round_interval_s = -1

        [venues.kraken]
        price = "median"
        colour = "blue"

        [[feeds]]
        id = "BTC/USD"
        sources = [
          "kraken:BTC/USD",
          "nowhere:BTC/USD",
        ]

        [[feeds]]
        id = "ETHUSD"
        sources = ["kraken:ETH/USD", "elsewhere:ETH/USD"]
        [feeds.aggregation]
        quorum = 0
        """,
    )
    assert main(["config", "check", str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"{path}:2: node.round_interval_s: Input should be greater than 0",
        f"{path}:5: venues.kraken.price: Input should be 'mid', 'last', 'bid' or 'ask'",
        f"{path}:6: venues.kraken.colour: unknown key (see config/node.example.toml for every key)",
        f"{path}:12: feeds.0.sources.1: venue 'nowhere' is not in [venues]",
        f"{path}:16: feeds.1.id: feed id 'ETHUSD' must be BASE/QUOTE, e.g. BTC/USD",
        f"{path}:17: feeds.1.sources.1: venue 'elsewhere' is not in [venues]",
        f"{path}:19: feeds.1.aggregation.quorum: Input should be greater than or equal to 1",
    ]


def test_a_missing_required_key_points_at_its_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[venues.kraken]\n\n[[feeds]]\nid = "BTC/USD"\n')
    assert lines_of(path) == {"feeds.0.sources": 3}


def test_dotted_and_quoted_keys_and_inline_tables_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + textwrap.dedent(
            """\
            [defaults]
            aggregation.quorum = "three"
            breaker = { max_deviation = -1 }

            [venues."okx"]
            prices = { "BTC/USDT" = "close" }
            """
        ),
    )
    assert lines_of(path) == {
        "defaults.aggregation.quorum": 13,
        "defaults.breaker.max_deviation": 14,
        "venues.okx.prices.BTC/USDT": 17,
    }


def test_inline_secrets_are_refused_with_the_file_key_to_use(tmp_path: Path) -> None:
    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    path = write(
        tmp_path,
        GOOD
        + textwrap.dedent(
            f"""\
            [http]
            admin_token = "correct-horse-battery-staple"

            [chain]
            rpc_url = "http://127.0.0.1:8545"
            keystore = "k.json"
            passphrase = "hunter2"
            passphrase_file = "k.pass"
            signer = "0x{key}"
            """
        ),
    )
    (tmp_path / "k.json").write_text("{}")
    (tmp_path / "k.pass").write_text("x")
    (tmp_path / "k.pass").chmod(0o600)
    problems = {p.key: (p.line, p.message) for p in check_config(path)}
    assert problems["http.admin_token"][0] == 13
    assert problems["http.admin_token"][1].endswith("set http.admin_token_file")
    assert problems["chain.passphrase"] == (
        18,
        "a secret written in the config is refused; put it in a file and set chain.passphrase_file",
    )
    assert "looks like a private key" in problems["chain.signer"][1]
    text = path.read_text()
    assert all("hunter2" not in p.text() and key not in p.text() for p in check_config(path))
    assert "hunter2" in text  # the check read it, and said nothing of it


def test_run_refuses_an_inline_secret_naming_the_file_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n[http]\nadmin_token = "correct-horse-battery-staple"\n')
    with pytest.raises(ConfigError, match=r"set http\.admin_token_file"):
        load_config(path)


def test_unreadable_and_exposed_secret_files_are_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + textwrap.dedent(
            """\
            [http]
            admin_token_file = "admin.token"

            [chain]
            rpc_url = "http://127.0.0.1:8545"
            keystore = "keys/none.json"
            passphrase_file = "node.pass"
            """
        ),
    )
    (tmp_path / "admin.token").write_text("a" * 32)
    (tmp_path / "admin.token").chmod(0o644)
    (tmp_path / "node.pass").write_text("pass")
    (tmp_path / "node.pass").chmod(0o600)
    problems = {p.key: (p.line, p.message) for p in check_config(path)}
    assert problems == {
        "http.admin_token_file": (
            13,
            f"{tmp_path / 'admin.token'} is readable by others (mode 644); chmod 600",
        ),
        "chain.keystore": (
            17,
            f"cannot read {tmp_path / 'keys/none.json'}: No such file or directory",
        ),
    }


def test_an_environment_override_is_checked_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("ORACLE_NODE_NODE__VENUE_DEADLINE_S", "soon")
    [problem] = check_config(path)
    assert problem.text() == (
        f"{path}: ORACLE_NODE_NODE__VENUE_DEADLINE_S (environment): node.venue_deadline_s: "
        "Input should be a valid number, unable to parse string as a number"
    )


def test_an_environment_override_can_fix_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, GOOD.replace("round_interval_s = 5", "round_interval_s = 0"))
    assert [p.key for p in check_config(path)] == ["node.round_interval_s"]
    monkeypatch.setenv("ORACLE_NODE_NODE__ROUND_INTERVAL_S", "2")
    assert check_config(path) == []


def test_invalid_toml_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD + "\n[http\nport = 1\n")
    assert main(["config", "check", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    [problem] = report["problems"]
    assert problem["line"] == 13
    assert problem["message"].startswith("not valid TOML")


def test_json_output_lists_each_problem_for_machines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("round_interval_s = 5", "round_interval_s = 0"))
    assert main(["config", "check", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "file": str(path),
        "ok": False,
        "problems": [
            {
                "file": str(path),
                "line": 2,
                "key": "node.round_interval_s",
                "message": "Input should be greater than 0",
                "env": None,
            }
        ],
    }


def test_the_example_config_has_no_problem_but_its_missing_key_files(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "config" / "node.example.toml"
    problems = check_config(example)
    assert {p.key for p in problems} <= {"chain.keystore", "chain.passphrase_file"}


def test_a_file_that_is_not_utf8_is_one_problem_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_bytes(b"[node]\nround_interval_s = 1\n# caf\xe9\n")
    [problem] = check_config(path)
    assert "not UTF-8" in problem.message
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
