"""What the BatchRebalancer's owner configures, as data: the deployment file and the call plan.

`RebalancerSetup` is everything a deployment sets: the loss bound, the optional L2 sequencer
feed, the roles, and the allowlists (assets with their feeds and staleness limits, ERC-4626
vaults, Aave pools and their aTokens, routers with their spenders). `load_setup` reads it from a
YAML file and refuses typos and bad values with one line naming the field. `configuration_calls`
turns it into the ordered list of owner calls (plain assets before the vaults and aTokens that
are valued through them). Both the ape deploy script and the devnet use this one plan.

Nothing here sends a transaction or reads a chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from keeper.chain.rebalancer import Role
from keeper.errors import ConfigError

EMPTY_ADDRESS = "0x" + "00" * 20
MAX_STALENESS = 2**32 - 1  # seconds; the contract packs it in 32 bits


def _checksum(value: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


Address = Annotated[str, AfterValidator(_checksum)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetSetup(_Strict):
    token: Address
    feed: Address  # a Chainlink-style USD feed
    staleness: int = Field(gt=0, le=MAX_STALENESS)  # seconds: the feed's heartbeat plus a margin


class SequencerSetup(_Strict):
    feed: Address  # Chainlink's L2 sequencer-uptime feed
    grace_period: int = Field(ge=0, le=MAX_STALENESS)  # seconds


class AaveSetup(_Strict):
    pool: Address
    a_tokens: tuple[Address, ...] = ()


class RebalancerSetup(_Strict):
    """A deployment: the owner's whole configuration."""

    max_loss_bps: int = Field(ge=0, le=10_000)
    owner: Address | None = None  # the Safe that takes over (two steps) once configured
    keepers: tuple[Address, ...] = ()
    guardians: tuple[Address, ...] = ()
    sequencer: SequencerSetup | None = None
    assets: dict[str, AssetSetup] = Field(default_factory=dict)  # symbol -> asset
    vaults: tuple[Address, ...] = ()
    aave: tuple[AaveSetup, ...] = ()
    routers: dict[Address, Address] = Field(default_factory=dict)  # router -> spender

    @property
    def sequencer_feed(self) -> str:
        return self.sequencer.feed if self.sequencer else EMPTY_ADDRESS

    @property
    def sequencer_grace_period(self) -> int:
        return self.sequencer.grace_period if self.sequencer else 0


def configuration_calls(setup: RebalancerSetup) -> list[tuple[str, tuple]]:
    """The owner's calls, in an order the contract accepts: (function name, arguments)."""
    calls: list[tuple[str, tuple]] = []
    roles: dict[str, int] = {}
    for keeper in setup.keepers:
        roles[keeper] = roles.get(keeper, 0) | int(Role.KEEPER)
    for guardian in setup.guardians:
        roles[guardian] = roles.get(guardian, 0) | int(Role.GUARDIAN)
    calls += [("set_roles", (account, flags)) for account, flags in roles.items()]
    calls += [("set_asset", (a.token, a.feed, a.staleness)) for a in setup.assets.values()]
    calls += [("set_vault", (vault,)) for vault in setup.vaults]
    for market in setup.aave:
        calls.append(("set_aave_pool", (market.pool, True)))
        calls += [("set_a_token", (a_token, market.pool)) for a_token in market.a_tokens]
    calls += [("set_router", (router, spender)) for router, spender in setup.routers.items()]
    return calls


def load_setup(path: Path | str) -> RebalancerSetup:
    """Read a deployment file (YAML); a bad field is one ConfigError line naming it."""
    from ruamel.yaml import YAML, YAMLError

    path = Path(path)
    try:
        raw = YAML(typ="safe").load(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the deployment file ({e.strerror}): check the path") from None
    except YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]}): fix the syntax") from None
    return parse_setup(raw or {}, str(path))


def parse_setup(raw: dict, where: str = "deployment") -> RebalancerSetup:
    try:
        return RebalancerSetup.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        hint = "remove it (typo?)" if first["type"] == "extra_forbidden" else "fix the value"
        raise ConfigError(f"{where}: {field}: {first['msg']}: {hint}") from None
