"""MetaTrader 5 as a keeper venue, where its terminal exists.

This module owns one honest boundary: the `MetaTrader5` Python package talks to a running MT5
terminal through a Windows-only IPC channel; on Linux and macOS the package does not install or
cannot initialise. `Mt5Venue.connect` therefore either returns a connected venue or raises
`NotAvailable` with a one-line reason (package missing, wrong platform, or the terminal refused
`initialize`). Order execution through MT5 is not implemented here: nothing in this repository
could test it (no terminal runs on the CI's Linux), and an untested order path is not shipped.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType

from keeper.errors import NotAvailable


def _import_mt5() -> ModuleType:
    return importlib.import_module("MetaTrader5")


class Mt5Venue:
    """A connected MT5 terminal. Build it with `connect`; reading positions is all it offers."""

    def __init__(self, module: ModuleType, name: str = "mt5"):
        self._mt5 = module
        self.name = name

    @classmethod
    def connect(
        cls,
        *,
        name: str = "mt5",
        path: str | None = None,
        system: Callable[[], str] = platform.system,
        importer: Callable[[], ModuleType] = _import_mt5,
    ) -> Mt5Venue:
        """Connect to the local MT5 terminal or raise `NotAvailable` saying why not."""
        if system() != "Windows":
            raise NotAvailable(
                f"venue {name}: MetaTrader 5 is not available on this platform ({system()}); "
                "its Python package only talks to a terminal running on Windows"
            )
        try:
            module = importer()
        except ImportError:
            raise NotAvailable(
                f"venue {name}: the MetaTrader5 package is not installed; pip install MetaTrader5 on the Windows host"
            ) from None
        ok = module.initialize(path) if path else module.initialize()
        if not ok:
            raise NotAvailable(
                f"venue {name}: the MT5 terminal refused to initialise: {module.last_error()}"
            )
        return cls(module, name)

    def positions(self) -> list[tuple[str, Decimal]]:
        """(symbol, volume in lots) per open position; the terminal's float becomes a Decimal here
        (mapping lots to units needs the symbol's contract size)."""
        rows = self._mt5.positions_get() or ()
        return [(r.symbol, Decimal(str(r.volume))) for r in rows]

    def close(self) -> None:
        self._mt5.shutdown()
