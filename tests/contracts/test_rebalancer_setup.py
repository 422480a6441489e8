"""The deployment plan: the YAML file, its one-line refusals, the owner's call order, and the
devnet's `deploy_rebalancer` (what the devnet recipe calls) producing a working rebalancer."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from keeper.chain.rebalancer import AssetKind, Role
from keeper.chain.rebalancer_setup import configuration_calls, load_setup, parse_setup
from keeper.devnet.rebalancer import DEVNET_STALENESS, deploy_rebalancer
from keeper.errors import ConfigError

A, B, C, D = ("0x" + c * 40 for c in "abcd")

YAML = f"""
max_loss_bps: 75
owner: "{D}"
keepers: ["{A}"]
guardians: ["{A}", "{B}"]
sequencer: {{feed: "{C}", grace_period: 3600}}
assets:
  USDC: {{token: "{B}", feed: "{C}", staleness: 90000}}
vaults: ["{A}"]
aave: [{{pool: "{C}", a_tokens: ["{D}"]}}]
routers: {{"{A}": "{B}"}}
"""


def test_load_setup__full_file__parsed_and_checksummed(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(YAML)
    setup = load_setup(path)
    assert setup.max_loss_bps == 75 and setup.sequencer_grace_period == 3_600
    assert setup.assets["USDC"].token == to_checksum_address(B) != B


def test_configuration_calls__order__plain_assets_before_what_is_valued_through_them(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(YAML)
    names = [name for name, _ in configuration_calls(load_setup(path))]
    assert names == ["set_roles", "set_roles", "set_asset", "set_vault", "set_aave_pool", "set_a_token", "set_router"]
    roles = dict(args for name, args in configuration_calls(load_setup(path)) if name == "set_roles")
    assert roles[parse_setup({"max_loss_bps": 0, "keepers": [A]}).keepers[0]] == int(Role.KEEPER | Role.GUARDIAN)


@pytest.mark.parametrize("raw, field", [
    ({"max_loss_bps": 10_001}, "max_loss_bps"),
    ({"max_loss_bps": 1, "keeperz": [A]}, "keeperz"),
    ({"max_loss_bps": 1, "assets": {"USDC": {"token": "0x12", "feed": C, "staleness": 1}}}, "assets.USDC.token"),
    ({"max_loss_bps": 1, "assets": {"USDC": {"token": B, "feed": C, "staleness": 0}}}, "assets.USDC.staleness"),
    ({}, "max_loss_bps"),
])
def test_parse_setup__bad_field__one_line_naming_it(raw, field):
    with pytest.raises(ConfigError) as e:
        parse_setup(raw, "deploy.yaml")
    assert f"deploy.yaml: {field}:" in str(e.value) and "\n" not in str(e.value)


def test_load_setup__missing_file__one_line(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_setup(tmp_path / "nope.yaml")


def test_deploy_rebalancer__devnet_book__everything_allowlisted_and_a_batch_runs(net, world):
    book = net.book
    address = deploy_rebalancer(net.w3, book, book.accounts["owner"], book.accounts["keeper"], book.accounts["guardian"])
    contract = net.w3.eth.contract(address=address, abi=world.rebalancer.abi)
    f = contract.functions
    assert f.owner().call() == book.accounts["owner"]
    assert f.roles(book.accounts["keeper"]).call() == Role.KEEPER
    assert f.roles(book.accounts["guardian"]).call() == Role.GUARDIAN
    for symbol, entry in book.tokens.items():
        assert tuple(f.asset_config(entry.address).call()[:3]) == (AssetKind.PLAIN, entry.feed, DEVNET_STALENESS), symbol
    for vault in book.vaults.values():
        assert f.asset_config(vault.address).call()[0] == AssetKind.VAULT
    for a_token in book.aave.a_tokens.values():
        assert f.a_token_pool(a_token).call() == book.aave.pool
    assert f.routers(book.uniswap_v3["swap_router02"]).call() == book.uniswap_v3["swap_router02"]

    world.give("WETH", address, world.raw("WETH", 1))
    step = world.uniswap(["WETH", 500, "USDC"], world.raw("WETH", 1))
    data = step.data.replace(bytes.fromhex(world.rebalancer.address[2:]), bytes.fromhex(address[2:]))
    call = f.execute(1, 2**40, [(*step.as_abi()[:7], data)], [])
    world.send(call, book.accounts["keeper"])
    assert world.balance("WETH", address) == 0
