"""scripts/deploy.py, run the way an operator runs it (`ape run deploy`), against a devnet:
its devnet mode (the address book gains the rebalancer) and its real-network mode (a deployment
file, then the two-step handover to the owner)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keeper.chain.rebalancer import AssetKind, Role, abi
from keeper.devnet.book import AddressBook

REPO = Path(__file__).resolve().parents[2]
APE = REPO / ".venv" / "bin" / "ape"


def ape_run(*args: str) -> str:
    if not APE.is_file():
        pytest.skip("ape is not installed: run `make install`")
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{REPO / 'node_modules' / '.bin'}:{os.environ['PATH']}"}
    done = subprocess.run([str(APE), "run", "deploy", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_deploy_script__devnet__address_book_gains_a_configured_rebalancer(net, world, tmp_path):
    book_path = tmp_path / "addresses.json"
    net.book.save(book_path)
    ape_run("--network", net.url, "--devnet", "--book", str(book_path))
    book = AddressBook.load(book_path)
    contract = net.w3.eth.contract(address=book.extra["rebalancer"], abi=abi())
    f = contract.functions
    assert f.owner().call() == book.accounts["owner"]
    assert f.roles(book.accounts["keeper"]).call() == Role.KEEPER
    assert f.asset_config(book.token("WBTC").address).call()[0] == AssetKind.PLAIN
    assert f.asset_config(book.vaults["vault_dai"].address).call()[0] == AssetKind.VAULT
    assert f.a_token_pool(book.aave.a_tokens["USDC"]).call() == book.aave.pool
    assert f.routers(book.uniswap_v3["swap_router02"]).call() != "0x" + "00" * 20


def test_deploy_script__setup_file__configured_then_handed_to_the_owner(net, world, tmp_path):
    book = net.book
    usdc = book.token("USDC")
    setup = tmp_path / "deploy.yaml"
    setup.write_text(
        f'max_loss_bps: 50\nowner: "{book.accounts["owner"]}"\nkeepers: ["{book.accounts["keeper"]}"]\n'
        f'assets:\n  USDC: {{token: "{usdc.address}", feed: "{usdc.feed}", staleness: 90000}}\n'
    )
    out = ape_run("--network", net.url, "--account", "TEST::0", "--setup", str(setup))
    address = out.strip().splitlines()[-1].split()[-1]
    f = net.w3.eth.contract(address=address, abi=abi()).functions
    assert f.owner().call() == book.accounts["deployer"]  # until the Safe accepts
    assert f.pending_owner().call() == book.accounts["owner"]
    assert f.max_loss_bps().call() == 50
    assert tuple(f.asset_config(usdc.address).call()[:3]) == (AssetKind.PLAIN, usdc.feed, 90_000)
