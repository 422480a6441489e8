"""The `keeper` command line: parse, call the library, print. Nothing else lives here.

Each command group is its own module; this one only wires them together and turns a
`KeeperError` into one clear line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import logging
import sys

import click

from keeper.errors import KeeperError
from keeper.secrets import install_log_filter, redact


class KeeperGroup(click.Group):
    """A click group that reports `KeeperError` as one line, never as a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeeperError as e:
            click.echo(f"error: {redact(e.one_line())}", err=True)
            sys.exit(2)


@click.group(cls=KeeperGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """The rebalancing keeper."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filter()


def _register_commands(group: click.Group) -> None:
    """Attach each command group module to the top-level `keeper` group."""
    from keeper.cli import demo, devnet
    from keeper.cli.config_cmd import config
    from keeper.cli.rebalance import rebalance
    from keeper.cli.status import status
    from keeper.cli.tax import tax

    group.add_command(status)
    group.add_command(rebalance)
    group.add_command(config)
    group.add_command(tax)
    group.add_command(devnet.devnet)
    group.add_command(demo.demo)


_register_commands(main)
