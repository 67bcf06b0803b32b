"""`oracle-node config check FILE`: every problem of a config, each with its place in the file.

It reads the file the way `oracle-node run` does (TOML, then `ORACLE_NODE_*` environment
overrides, then pydantic), but does not stop at the first problem: validation errors, unknown
keys, sources naming a venue that is not configured, file references that cannot be read, and
secrets written inline. Secrets are only ever file references: a key, passphrase or token in
the config itself is refused with the file-reference key to use instead.

A problem is `FILE:LINE: path.to.key: message`; one that comes from an environment variable
names the variable instead of a line.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from node.config import NodeConfig
from node.toml_lines import key_lines, locate

ENV_PREFIX: Final = "ORACLE_NODE_"
"""`NodeConfig`'s environment prefix: `ORACLE_NODE_<SECTION>__<KEY>` overrides the file."""

INLINE_SECRETS: Final = {
    "private_key": "chain.keystore (a V3 keystore: `oracle-node keys import --key-file F`)",
    "key": "chain.keystore (a V3 keystore: `oracle-node keys import --key-file F`)",
    "mnemonic": "chain.keystore (a V3 keystore: `oracle-node keys import --key-file F`)",
    "passphrase": "chain.passphrase_file",
    "password": "chain.passphrase_file",
    "admin_token": "http.admin_token_file",
    "token": "http.admin_token_file",
    "secret": "a file, referenced by a `*_file` key",
    "api_key": "a file, referenced by a `*_file` key",
    "api_secret": "a file, referenced by a `*_file` key",
}
"""Key names that hold a secret -> the file-reference key to use instead."""

_PRIVATE_KEY: Final = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

FILE_KEYS: Final = (
    (("chain", "keystore"), False),
    (("chain", "passphrase_file"), True),
    (("http", "admin_token_file"), True),
)
"""File references the node reads at start, and whether the file holds a secret."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix. `line` is None when the file says nothing about `key` (a missing
    key) or the value came from the environment (`env` names the variable)."""

    file: str
    line: int | None
    key: str
    message: str
    env: str | None = None

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.env is not None:
            where = f"{self.file}: {self.env} (environment)"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def check_config(path: Path) -> list[Problem]:
    """Every problem of the config at `path` under this process' environment; [] if usable."""
    env = os.environ
    name = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        return [Problem(name, None, "", f"cannot read the config: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return [Problem(name, None, "", "not UTF-8 text (TOML is UTF-8)")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        message = f"not valid TOML: {exc}"
        return [Problem(name, int(found.group(1)) if found else None, "", message)]
    lines = key_lines(text)

    def problem(loc: tuple[str | int, ...], message: str) -> Problem:
        key = ".".join(str(p) for p in loc)
        variable = _env_variable(loc, env)
        if variable is not None:
            return Problem(name, None, key, message, env=variable)
        return Problem(name, locate(lines, loc), key, message)

    problems = [problem(loc, message) for loc, message in _inline_secrets(data)]
    secret_paths = {p.key for p in problems}
    problems += [problem(loc, msg) for loc, msg in _references(data)]
    try:
        NodeConfig(**data)
    except ValidationError as exc:
        problems += [problem(loc, msg) for loc, msg in _validation(exc, secret_paths)]
    problems += [problem(loc, msg) for loc, msg in _files(data, path.parent)]
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.key))


def summary(path: Path) -> str:
    """The one-line description of a config that passed `check_config`."""
    config = NodeConfig(**tomllib.loads(path.read_text()))
    on_chain = sum(1 for f in config.feeds if f.contract is not None)
    chain = "no [chain]: nothing is published" if config.chain is None else (
        f"{on_chain} feed(s) published through {len(config.chain.endpoints())} RPC endpoint(s)"
    )  # fmt: skip
    return f"{path}: OK: {len(config.feeds)} feed(s), {len(config.venues)} venue(s), {chain}"


def as_json(path: Path, problems: list[Problem]) -> str:
    return json.dumps(
        {"file": str(path), "ok": not problems, "problems": [asdict(p) for p in problems]}
    )


def _validation(
    exc: ValidationError, secret_paths: set[str]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """pydantic's errors, less those another check already reported better."""
    for error in exc.errors():
        loc = tuple(error["loc"])
        if ".".join(str(p) for p in loc) in secret_paths:
            continue  # already refused as an inline secret, with what to use instead
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc and "is not in [venues]" in message:
            continue  # `_references` reported every one of them, each at its line
        if error["type"] == "extra_forbidden":
            message = "unknown key (see config/node.example.toml for every key)"
        yield loc, message


def _env_variable(loc: tuple[str | int, ...], env: Mapping[str, str]) -> str | None:
    """The environment variable that set the value at `loc`, if one did."""
    for i in range(len(loc), 0, -1):
        name = ENV_PREFIX + "__".join(str(p) for p in loc[:i]).upper()
        if name in env:
            return name
    return None


def _walk(
    value: Any, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield loc, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*loc, i))


def refused_secret(loc: tuple[str | int, ...]) -> str | None:
    """Why a key named like a secret is refused, and the file-reference key to use instead."""
    instead = INLINE_SECRETS.get(str(loc[-1]).lower()) if loc else None
    if instead is None:
        return None
    return f"a secret written in the config is refused; put it in a file and set {instead}"


def _inline_secrets(data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for loc, value in _walk(data):
        name = str(loc[-1]).lower() if loc else ""
        if name.endswith("_file") or isinstance(value, dict | list):
            continue
        refused = refused_secret(loc)
        if refused is not None:
            yield loc, refused
        elif isinstance(value, str) and _PRIVATE_KEY.match(value.strip()):
            yield (
                loc,
                ("this looks like a private key; keys are never config values: use chain.keystore"),
            )


def _references(data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every source naming a venue that `[venues]` does not configure."""
    venues = data.get("venues")
    known = set(venues) if isinstance(venues, dict) else set()
    feeds = data.get("feeds")
    for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
        sources = feed.get("sources") if isinstance(feed, dict) else None
        for j, source in enumerate(sources if isinstance(sources, list) else []):
            venue, sep, _ = str(source).partition(":")
            if sep and venue and venue not in known:
                yield ("feeds", i, "sources", j), f"venue {venue!r} is not in [venues]"


def _files(data: dict[str, Any], base: Path) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """File references that the node could not read at start, or that expose a secret."""
    for (section, key), secret in FILE_KEYS:
        table = data.get(section)
        value = table.get(key) if isinstance(table, dict) else None
        if not isinstance(value, str):
            continue  # absent, or a wrong type that validation reports
        file = (base / value).resolve()
        try:
            mode = file.stat().st_mode
            with file.open("rb"):
                pass
        except OSError as exc:
            yield (section, key), f"cannot read {file}: {exc.strerror or exc}"
            continue
        if secret and mode & (stat.S_IRWXG | stat.S_IRWXO):
            yield (section, key), f"{file} is readable by others (mode {mode & 0o777:o}); chmod 600"
