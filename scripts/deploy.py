"""ape script: deploy the BatchRebalancer and configure it, on any network.

A real network (mainnet, an L2, a fork): the deployer (an `ape accounts` keystore) deploys as
the temporary owner, applies the deployment file (loss bound, optional sequencer feed, roles,
assets with feeds and staleness limits, vaults, Aave markets, routers), then starts the two-step
handover to the file's `owner` (the treasury's Safe), which must call `accept_ownership()`:

    PATH=.venv/bin:$PATH .venv/bin/ape run deploy --network ethereum:mainnet:node \\
        --account deployer --setup deploy/mainnet.yaml

The devnet (`keeper devnet up` running): deploys as the devnet's owner account, allowlists every
token, vault, the Aave pool and its aTokens and the Uniswap routers of its address book, grants
the keeper and guardian roles, and writes the rebalancer into the address book (`extra.rebalancer`):

    PATH=.venv/bin:$PATH .venv/bin/ape run deploy --network "$(jq -r .url .devnet/run.json)" --devnet

(`PATH` lets ape-vyper use the pinned Vyper from the virtualenv; nothing is downloaded.)
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand, account_option

from keeper.chain.rebalancer_setup import RebalancerSetup, configuration_calls, load_setup
from keeper.devnet.book import AddressBook
from keeper.devnet.devnet import devnet_dir
from keeper.devnet.rebalancer import setup_from_book
from keeper.errors import ConfigError


@click.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--setup", "setup_path", type=click.Path(path_type=Path), help="The deployment file (YAML).")
@click.option("--devnet", is_flag=True, help="Deploy on the running devnet and add it to its address book.")
@click.option("--book", "book_path", type=click.Path(path_type=Path), default=None,
              help="The devnet's address book (default: the one `keeper devnet up` wrote).")
def cli(provider, account, setup_path: Path | None, devnet: bool, book_path: Path | None):
    if devnet:
        deploy_on_devnet(provider, book_path)
        return
    if setup_path is None or account is None:
        raise click.UsageError("pass --account ALIAS (the deployer) and --setup FILE (the deployment file), or --devnet")
    setup = load_setup(setup_path)
    rebalancer = deploy_and_configure(setup, account)
    if setup.owner and setup.owner != account.address:
        rebalancer.transfer_ownership(setup.owner, sender=account)
        click.echo(f"ownership handover to {setup.owner} started: it must call accept_ownership() on {rebalancer.address}")
    click.echo(f"BatchRebalancer at {rebalancer.address}")


def deploy_and_configure(setup: RebalancerSetup, sender):
    """Deploy owned by `sender`, then send the owner's configuration calls from it."""
    rebalancer = project.BatchRebalancer.deploy(
        sender.address, setup.max_loss_bps, setup.sequencer_feed, setup.sequencer_grace_period, sender=sender,
    )
    for name, args in configuration_calls(setup):
        getattr(rebalancer, name)(*args, sender=sender)
    return rebalancer


def deploy_on_devnet(provider, book_path: Path | None) -> None:
    book_path = book_path or _running_devnet_book()
    book = AddressBook.load(book_path)
    if provider.chain_id != book.chain_id:
        raise ConfigError(f"connected to chain {provider.chain_id}, the address book is for {book.chain_id}: pass the devnet's URL as --network")
    owner = _test_account(book.accounts["owner"])
    setup = setup_from_book(book, keeper=book.accounts["keeper"], guardian=book.accounts["guardian"])
    rebalancer = deploy_and_configure(setup, owner)
    book.extra["rebalancer"] = rebalancer.address
    book.save(book_path)
    click.echo(f"BatchRebalancer at {rebalancer.address}, added to {book_path}")


def _running_devnet_book() -> Path:
    record = devnet_dir() / "run.json"
    try:
        return Path(json.loads(record.read_text())["address_book"])
    except (OSError, KeyError, TypeError, ValueError):
        raise ConfigError(f"no running devnet record at {record}: `keeper devnet up` first, or pass --book") from None


def _test_account(address: str):
    """The devnet's role accounts come from anvil's public test mnemonic, as ape's test accounts do."""
    for candidate in accounts.test_accounts:
        if candidate.address == address:
            return candidate
    raise ConfigError(f"{address} is not one of ape's test accounts: is the devnet built from the standard test mnemonic?")
