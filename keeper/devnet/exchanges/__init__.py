"""Local exchange and broker servers for the devnet and the tests.

Each server speaks one real venue's REST API closely enough that the real client code (ccxt for
Binance and OKX, our httpx adapters for Alpaca and Interactive Brokers) runs end to end against it:
request signing and session checks are verified, responses keep the real field names and types,
and a matching engine (`engine.Engine`) keeps balances, a book, orders, trades and fees. Fault
hooks on the engine inject partial fills, rejects, rate limits, timeouts after execution and
server errors.

These servers are for the devnet and tests only; nothing in the keeper's runtime imports them.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.devnet.exchanges.engine import Engine, MarketSpec


def crypto_markets(quote: str = "USDT") -> list[MarketSpec]:
    """BTC, ETH and SOL against `quote`, with rules shaped like Binance's real spot filters."""
    return [
        MarketSpec(
            f"BTC/{quote}",
            "BTC",
            quote,
            Decimal("0.01"),
            Decimal("0.00001"),
            Decimal("0.00001"),
            Decimal("9000"),
            Decimal("5"),
        ),
        MarketSpec(
            f"ETH/{quote}",
            "ETH",
            quote,
            Decimal("0.01"),
            Decimal("0.0001"),
            Decimal("0.0001"),
            Decimal("9000"),
            Decimal("5"),
        ),
        MarketSpec(
            f"SOL/{quote}",
            "SOL",
            quote,
            Decimal("0.01"),
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal("90000"),
            Decimal("5"),
        ),
    ]


def ladder(
    mid: str, step: str, qty: str, levels: int = 20
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A symmetric book around `mid`: `levels` bids below and asks above, `step` apart, `qty` each."""
    m, s = Decimal(mid), Decimal(step)
    bids = [(str(m - s * (i + 1)), qty) for i in range(levels)]
    asks = [(str(m + s * (i + 1)), qty) for i in range(levels)]
    return bids, asks


def crypto_engine(
    balances: dict[str, str] | None = None,
    *,
    quote: str = "USDT",
    taker_fee: str = "0.001",
    maker_fee: str = "0.001",
) -> Engine:
    """An engine with BTC/ETH/SOL markets, books around realistic prices and a funded account."""
    books = {
        f"BTC/{quote}": ladder("60000", "5", "0.5"),
        f"ETH/{quote}": ladder("3000", "0.5", "5"),
        f"SOL/{quote}": ladder("150", "0.05", "100"),
    }
    return Engine(
        crypto_markets(quote),
        balances
        if balances is not None
        else {"BTC": "2", "ETH": "20", "SOL": "300", quote: "100000"},
        books,
        taker_fee=Decimal(taker_fee),
        maker_fee=Decimal(maker_fee),
    )


def equity_markets() -> list[MarketSpec]:
    """US ETFs in whole shares, priced in USD to the cent (Reg NMS tick for prices >= $1)."""
    return [
        MarketSpec(
            f"{t}/USD",
            t,
            "USD",
            Decimal("0.01"),
            Decimal("1"),
            Decimal("1"),
            Decimal("1000000"),
            Decimal("0"),
            0,
            2,
        )
        for t in ("SPY", "QQQ", "AGG", "TLT", "VGT")
    ]


def equity_engine(
    balances: dict[str, str] | None = None,
    *,
    commission_rate: str = "0",
) -> Engine:
    """A broker account: ETF books around realistic prices, cash in USD, commission in cash."""
    books = {
        "SPY/USD": ladder("450.00", "0.01", "300"),
        "QQQ/USD": ladder("380.00", "0.01", "300"),
        "AGG/USD": ladder("98.00", "0.01", "1000"),
        "TLT/USD": ladder("92.00", "0.01", "1000"),
        "VGT/USD": ladder("540.00", "0.01", "200"),
    }
    rate = Decimal(commission_rate)
    return Engine(
        equity_markets(),
        balances if balances is not None else {"USD": "250000", "SPY": "200", "AGG": "500"},
        books,
        taker_fee=rate,
        maker_fee=rate,
        fees_in_quote=True,
    )


class LocalVenues:
    """Every local venue server at once, for `make demo` and end-to-end tests.

    Starts Binance, OKX, Alpaca and IBKR stand-ins on free loopback ports (a few ms each) with
    devnet-only credentials; `stop()` shuts them all. The credentials are throwaway strings
    generated per run, good only against these servers.
    """

    def __init__(self) -> None:
        import secrets as _random

        from keeper.devnet.exchanges.alpaca import start_alpaca
        from keeper.devnet.exchanges.binance import start_binance
        from keeper.devnet.exchanges.ibkr import start_ibkr
        from keeper.devnet.exchanges.okx import start_okx

        self.binance_key, self.binance_secret = _random.token_hex(16), _random.token_hex(24)
        self.okx_key, self.okx_secret, self.okx_passphrase = (
            _random.token_hex(16),
            _random.token_hex(24),
            _random.token_hex(8),
        )
        self.alpaca_key, self.alpaca_secret = _random.token_hex(10), _random.token_hex(20)
        self.binance = start_binance(crypto_engine(), {self.binance_key: self.binance_secret})
        self.okx = start_okx(
            crypto_engine(), {self.okx_key: (self.okx_secret, self.okx_passphrase)}
        )
        self.alpaca = start_alpaca(equity_engine(), self.alpaca_key, self.alpaca_secret)
        self.ibkr = start_ibkr(equity_engine(commission_rate="0.0005"))

    @property
    def ibkr_api_url(self) -> str:
        return f"{self.ibkr.url}/v1/api"

    def stop(self) -> None:
        for server in (self.binance, self.okx, self.alpaca, self.ibkr):
            server.stop()

    def __enter__(self) -> LocalVenues:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
