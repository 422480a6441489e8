"""0x Swap API v2 (AllowanceHolder flow) as a quote source (httpx).

Owns the request to `GET /swap/allowance-holder/quote` (executable) and `/price` (indicative)
and parsing their answers into `Quote`s. The API key comes from the environment (`ZEROX_API_KEY`
by default) and travels only in the `0x-api-key` header, with `0x-version: v2`.
The Permit2 flow is not used: it needs an EIP-712 signature from the taker, and our taker is the
BatchRebalancer contract. The spender to approve is `issues.allowance.spender` when 0x reports a
missing allowance, else `allowanceTarget` (see SOURCES.md on the spec's inconsistent example).
Shapes: ../shared/data/api-samples/0x-swap-v2-*.json.
"""

from __future__ import annotations

from typing import Any

import httpx

from keeper.http import RetryPolicy
from keeper.quotes._client import AggregatorClient
from keeper.quotes.base import BadQuote, NoRoute, Quote, checksum, raw_int
from keeper.secrets import from_env

NAME = "0x"
DEFAULT_BASE_URL = "https://api.0x.org"


class ZeroExSource:
    """Quotes from 0x; `slippage_bps` sets the `minBuyAmount` 0x bakes into its calldata."""

    name = NAME

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key_env: str = "ZEROX_API_KEY",
        slippage_bps: int = 50,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        key = from_env(api_key_env, purpose="0x quotes")
        self.slippage_bps = slippage_bps
        self._http = AggregatorClient(
            NAME,
            base_url,
            headers={"0x-api-key": key, "0x-version": "v2"},
            auth_hint=f"check the 0x API key in {api_key_env}",
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            client=client,
        )

    def _params(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> dict:
        return {
            "chainId": str(chain_id),
            "sellToken": token_in,
            "buyToken": token_out,
            "sellAmount": str(amount_in_raw),
            "taker": taker,
            "slippageBps": str(self.slippage_bps),
        }

    def quote(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> Quote:
        body = self._http.get(
            "/swap/allowance-holder/quote",
            self._params(chain_id, token_in, token_out, amount_in_raw, taker),
            "quote",
        )
        return parse_quote(
            body,
            chain_id=chain_id,
            token_in=token_in,
            token_out=token_out,
            amount_in_raw=amount_in_raw,
        )

    def price(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> Quote:
        body = self._http.get(
            "/swap/allowance-holder/price",
            self._params(chain_id, token_in, token_out, amount_in_raw, taker),
            "price",
        )
        return parse_quote(
            body,
            chain_id=chain_id,
            token_in=token_in,
            token_out=token_out,
            amount_in_raw=amount_in_raw,
            executable=False,
        )


def parse_quote(
    body: dict[str, Any],
    *,
    chain_id: int,
    token_in: str,
    token_out: str,
    amount_in_raw: int,
    executable: bool = True,
) -> Quote:
    """A quote (or, with `executable=False`, a price) answer -> `Quote`."""
    if body.get("liquidityAvailable") is False:
        raise NoRoute(f"{NAME}: no liquidity for {token_in} -> {token_out}")
    for key, expected in (("sellToken", token_in), ("buyToken", token_out)):
        if str(body.get(key, "")).lower() != expected.lower():
            raise BadQuote(
                f"{NAME}: answer's {key} {body.get(key)} is not the requested {expected}"
            )
    if raw_int(body.get("sellAmount"), "sellAmount", NAME) != amount_in_raw:
        raise BadQuote(
            f"{NAME}: answer sells {body.get('sellAmount')}, not the requested {amount_in_raw}"
        )
    issues = body.get("issues") or {}
    allowance = issues.get("allowance") if isinstance(issues, dict) else None
    spender = (allowance or {}).get("spender") or body.get("allowanceTarget") or ""
    router, calldata, value, gas = "", "", 0, raw_int(body.get("gas") or 0, "gas", NAME)
    if executable:
        tx = body.get("transaction")
        if not isinstance(tx, dict):
            raise BadQuote(f"{NAME}: quote answer has no transaction object")
        router = checksum(str(tx.get("to")), f"{NAME} transaction.to")
        calldata = str(tx.get("data", ""))
        value = raw_int(tx.get("value", "0"), "transaction.value", NAME)
        gas = raw_int(tx.get("gas"), "transaction.gas", NAME)
    min_buy = body.get("minBuyAmount")
    return Quote(
        source=NAME,
        chain_id=chain_id,
        token_in=checksum(token_in, "token_in"),
        token_out=checksum(token_out, "token_out"),
        amount_in_raw=amount_in_raw,
        amount_out_raw=raw_int(body.get("buyAmount"), "buyAmount", NAME),
        router=router,
        spender=checksum(spender, f"{NAME} spender") if spender else "",
        calldata=calldata,
        value_wei=value,
        gas_estimate=gas,
        source_min_out_raw=raw_int(min_buy, "minBuyAmount", NAME) if min_buy else None,
        quote_id=body.get("zid"),
    )
