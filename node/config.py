"""The node's configuration: TOML validated by pydantic, environment overrides on top.

Every problem is reported with its location (`feeds.0.sources.2: ...`). Relative paths are
resolved against the config file's folder. Secrets are never values here, only file paths
(the keystore and its passphrase file).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aggregator import (
    FeedGraphError,
    FeedSpec,
    evaluation_order,
)
from circuit_breakers import BreakerParams
from node.feed_config import Defaults, FeedConfig, Strict, VenueConfig
from publisher.policy import PublishPolicy


class ConfigError(ValueError):
    """The configuration cannot be used as it is. The operator fixes the file; nothing was started."""


class NodeSection(Strict):
    round_interval_s: float = Field(10.0, gt=0)
    venue_deadline_s: float = Field(3.0, gt=0)
    journal: Path = Path("oracle-journal.db")


class HttpConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    admin_token_file: Path | None = Field(
        None, description="file holding the bearer token of the admin calls; none: admin is off"
    )
    rate_limit_per_s: float = Field(
        20.0, ge=0, description="requests per second per client address; 0: no limit"
    )
    rate_limit_burst: int = Field(40, ge=1, description="requests a client may send at once")


class ChainConfig(Strict):
    rpc_url: str | None = Field(None, description="one RPC endpoint (or use rpc_urls)")
    rpc_urls: list[str] = Field(
        default_factory=list, description="RPC endpoints in failover order, primary first"
    )
    keystore: Path
    passphrase_file: Path
    chain_id: int | None = Field(
        None, description="when set, the node refuses an RPC on another chain"
    )
    receipt_timeout_s: float = Field(120.0, gt=0)
    max_fee_gwei: float | None = Field(
        500.0, gt=0, description="cap on maxFeePerGas; a transaction is held at the cap"
    )
    bump_percent: int = Field(20, ge=10, le=1000)
    bump_after_blocks: int = Field(3, ge=1)
    confirmations: int = Field(1, ge=1)
    poll_interval_s: float = Field(1.0, gt=0)
    rpc_timeout_s: float = Field(10.0, gt=0)
    rpc_cooldown_s: float = Field(30.0, ge=0)
    remote_signer_url: str | None = Field(
        None, description="sign observations over JSON-RPC eth_signTypedData_v4 instead"
    )
    remote_signer_address: str | None = None

    @model_validator(mode="after")
    def _endpoints(self) -> ChainConfig:
        if not self.endpoints():
            raise ValueError("chain: set rpc_url or rpc_urls")
        if (self.remote_signer_url is None) != (self.remote_signer_address is None):
            raise ValueError("chain: remote_signer_url and remote_signer_address go together")
        return self

    def endpoints(self) -> list[str]:
        """Every RPC URL, `rpc_url` first, without duplicates."""
        urls = ([self.rpc_url] if self.rpc_url else []) + list(self.rpc_urls)
        return list(dict.fromkeys(urls))


class PeerConfig(Strict):
    url: str = Field(description="the peer node's HTTP API, e.g. http://10.0.0.2:8080")
    signer: str = Field(description="the only signer address accepted from that URL")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"peer url {v!r} must start with http:// or https://")
        if "@" in v.split("://", 1)[1].split("/", 1)[0]:
            # The URL names the peer in logs, metrics and the journal: no credentials in it.
            raise ValueError("peer url must not carry credentials (user:password@)")
        return v.rstrip("/")

    @field_validator("signer")
    @classmethod
    def _signer(cls, v: str) -> str:
        if not (v.startswith("0x") and len(v) == 42):
            raise ValueError(f"peer signer {v!r} is not a 0x-prefixed 20-byte address")
        try:
            int(v, 16)
        except ValueError:
            raise ValueError(f"peer signer {v!r} is not hex") from None
        return v


class RelayConfig(Strict):
    slot_s: float = Field(30.0, gt=0, description="relay slot length; the relay rotates per slot")
    peer_timeout_s: float = Field(2.0, gt=0, description="total time for one request to a peer")
    max_peers: int = Field(16, ge=1, description="peers asked per feed per relay round")
    max_age_s: float = Field(
        30.0, gt=0, description="a peer's observation older than this is stale"
    )
    max_future_s: float = Field(5.0, ge=0, description="how far ahead a peer may stamp one")


class NodeConfig(BaseSettings):
    """The whole node. Environment variables `ORACLE_NODE_<SECTION>__<KEY>` override the file."""

    model_config = SettingsConfigDict(
        env_prefix="ORACLE_NODE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    node: NodeSection = NodeSection()
    http: HttpConfig = HttpConfig()
    chain: ChainConfig | None = None
    defaults: Defaults = Defaults()
    venues: dict[str, VenueConfig] = Field(default_factory=dict)
    feeds: list[FeedConfig] = Field(min_length=1)
    peers: list[PeerConfig] = Field(
        default_factory=list, description="other nodes of the signer set; none: the node is alone"
    )
    relay: RelayConfig = RelayConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _references(self) -> NodeConfig:
        signers = [int(p.signer, 16) for p in self.peers]
        if len(set(signers)) != len(signers):
            raise ValueError("peers: a signer appears twice")
        if len({p.url for p in self.peers}) != len(self.peers):
            raise ValueError("peers: a url appears twice")
        if self.peers and self.chain is None:
            raise ValueError("peers need a [chain] section: the quorum is read from the contracts")
        for i, feed in enumerate(self.feeds):
            for spec in feed.source_specs():
                if spec.venue not in self.venues:
                    raise ValueError(
                        f"feeds.{i} ({feed.id}): venue {spec.venue!r} is not in [venues]"
                    )
        try:
            evaluation_order(self.feed_specs())
        except FeedGraphError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def feed(self, feed_id: str) -> FeedConfig:
        return next(f for f in self.feeds if f.id == feed_id)

    def feed_specs(self) -> list[FeedSpec]:
        return [
            FeedSpec(f.id, f.source_specs(), (f.aggregation or self.defaults.aggregation).params())
            for f in self.feeds
        ]

    def breaker_params(self, feed_id: str) -> BreakerParams:
        return (self.feed(feed_id).breaker or self.defaults.breaker).params()

    def publish_policy(self, feed_id: str) -> PublishPolicy:
        return (self.feed(feed_id).publish or self.defaults.publish).policy()

    def snapshot(self) -> dict[str, Any]:
        """The config as plain JSON data: what the journal stores (by hash) for replay."""
        return self.model_dump(mode="json")


def load_config(path: Path | str) -> NodeConfig:
    """Read, validate and resolve a TOML config; raises `ConfigError` listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (TOML is UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = NodeConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in exc.errors())) from None
    return _resolve_paths(config, path.parent)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        from node.config_check import refused_secret  # lazy: config_check builds on this module

        message = refused_secret(tuple(error["loc"])) or message
    return f"{where}: {message}" if where else message


def _resolve_paths(config: NodeConfig, base: Path) -> NodeConfig:
    def resolved(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    node = config.node.model_copy(update={"journal": resolved(config.node.journal)})
    http = config.http
    if http.admin_token_file is not None:
        http = http.model_copy(update={"admin_token_file": resolved(http.admin_token_file)})
    chain = config.chain
    if chain is not None:
        chain = chain.model_copy(
            update={
                "keystore": resolved(chain.keystore),
                "passphrase_file": resolved(chain.passphrase_file),
            }
        )
    return config.model_copy(update={"node": node, "http": http, "chain": chain})
