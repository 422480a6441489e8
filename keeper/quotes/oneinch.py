"""1inch Swap API v6.0 as a quote source (httpx).

Owns the request to `GET /swap/v6.0/{chainId}/swap` (an executable quote: `tx.to`, `tx.data`)
and `/quote` (an indicative price), and parsing their answers into `Quote`s, checking that the
answer is for what was asked. The API key comes from the environment (`ONEINCH_API_KEY` by
default) and travels only in the `Authorization: Bearer` header; it is registered as a secret.
Shapes: ../shared/data/api-samples/1inch-swap-v6-*.json. Retries and error mapping live in
`keeper.quotes._client`; choosing among quotes lives in `keeper.quotes.choose`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from keeper.http import RetryPolicy
from keeper.quotes._client import AggregatorClient
from keeper.quotes.base import BadQuote, Quote, checksum, raw_int
from keeper.secrets import from_env

NAME = "1inch"
DEFAULT_BASE_URL = "https://api.1inch.com"
#: AggregationRouterV6 on every chain but zkSync (1inch-sdk-go constants/contracts.go).
ROUTER_V6 = "0x111111125421cA6dc452d289314280a0f8842A65"


class OneInchSource:
    """Quotes from 1inch. `slippage_bps` is what 1inch bakes into its calldata's minimum; the
    keeper's own minimum is enforced again by the BatchRebalancer."""

    name = NAME

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key_env: str = "ONEINCH_API_KEY",
        slippage_bps: int = 50,
        origin: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        key = from_env(api_key_env, purpose="1inch quotes")
        self.slippage_bps = slippage_bps
        self.origin = origin
        self._http = AggregatorClient(
            NAME,
            base_url,
            headers={"Authorization": f"Bearer {key}"},
            auth_hint=f"check the 1inch API key in {api_key_env}",
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            client=client,
        )

    def quote(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> Quote:
        """An executable quote from `/swap`; `taker` sends the swap and receives the output.

        `disableEstimate=true` because the taker (the batch contract) approves the router inside
        the same transaction, so 1inch cannot simulate it beforehand.
        """
        params = {
            "src": token_in,
            "dst": token_out,
            "amount": str(amount_in_raw),
            "from": taker,
            "origin": self.origin or taker,
            "slippage": str(Decimal(self.slippage_bps) / 100),
            "disableEstimate": "true",
            "includeGas": "true",
            "includeTokensInfo": "true",
        }
        body = self._http.get(f"/swap/v6.0/{chain_id}/swap", params, "swap quote")
        return parse_swap(
            body,
            chain_id=chain_id,
            token_in=token_in,
            token_out=token_out,
            amount_in_raw=amount_in_raw,
            taker=taker,
        )

    def price(self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int) -> Quote:
        """An indicative price from `/quote` (no calldata; cannot be executed)."""
        params = {
            "src": token_in,
            "dst": token_out,
            "amount": str(amount_in_raw),
            "includeGas": "true",
            "includeTokensInfo": "true",
        }
        body = self._http.get(f"/swap/v6.0/{chain_id}/quote", params, "price")
        return parse_quote(
            body,
            chain_id=chain_id,
            token_in=token_in,
            token_out=token_out,
            amount_in_raw=amount_in_raw,
        )


def _check_tokens(body: dict[str, Any], token_in: str, token_out: str) -> None:
    for key, expected in (("srcToken", token_in), ("dstToken", token_out)):
        info = body.get(key)
        if isinstance(info, dict) and str(info.get("address", "")).lower() != expected.lower():
            raise BadQuote(
                f"{NAME}: answer's {key} {info.get('address')} is not the requested {expected}"
            )


def parse_quote(
    body: dict[str, Any], *, chain_id: int, token_in: str, token_out: str, amount_in_raw: int
) -> Quote:
    """A `/quote` answer -> an indicative `Quote` (no router, no calldata)."""
    _check_tokens(body, token_in, token_out)
    return Quote(
        source=NAME,
        chain_id=chain_id,
        token_in=checksum(token_in, "token_in"),
        token_out=checksum(token_out, "token_out"),
        amount_in_raw=amount_in_raw,
        amount_out_raw=raw_int(body.get("dstAmount"), "dstAmount", NAME),
        router="",
        spender="",
        calldata="",
        value_wei=0,
        gas_estimate=raw_int(body.get("gas", 0), "gas", NAME),
    )


def parse_swap(
    body: dict[str, Any],
    *,
    chain_id: int,
    token_in: str,
    token_out: str,
    amount_in_raw: int,
    taker: str,
) -> Quote:
    """A `/swap` answer -> an executable `Quote`; the router is also the spender to approve."""
    _check_tokens(body, token_in, token_out)
    tx = body.get("tx")
    if not isinstance(tx, dict):
        raise BadQuote(f"{NAME}: swap answer has no tx object")
    sender = str(tx.get("from", ""))
    if sender.lower() != taker.lower():
        raise BadQuote(f"{NAME}: swap tx is from {sender}, not the taker {taker}")
    data = tx.get("data")
    if not isinstance(data, str) or not data.startswith("0x"):
        raise BadQuote(f"{NAME}: swap tx.data is not hex")
    router = checksum(str(tx.get("to")), f"{NAME} tx.to")
    return Quote(
        source=NAME,
        chain_id=chain_id,
        token_in=checksum(token_in, "token_in"),
        token_out=checksum(token_out, "token_out"),
        amount_in_raw=amount_in_raw,
        amount_out_raw=raw_int(body.get("dstAmount"), "dstAmount", NAME),
        router=router,
        spender=router,
        calldata=data,
        value_wei=raw_int(tx.get("value", "0"), "tx.value", NAME),
        gas_estimate=raw_int(tx.get("gas", body.get("gas", 0)), "tx.gas", NAME),
    )
