"""Odos Smart Order Router as a quote source (httpx): `/sor/quote/{v2|v3}` then `/sor/assemble`.

Owns the two-step request (a quote gives a `pathId`, valid about 60 s; assemble turns it into a
transaction for the taker) and parsing both answers into one `Quote`. With an API key (env
`ODOS_API_KEY`, optional) it uses the enterprise host and the `x-api-key` header; without one, the
public host. Shapes: ../shared/data/api-samples/odos-sor-*.json (the assemble sample is a field
skeleton: no verbatim answer was found).
"""

from __future__ import annotations

from typing import Any

import httpx

from keeper.http import RetryPolicy
from keeper.quotes._client import AggregatorClient
from keeper.quotes.base import BadQuote, Quote, checksum, raw_int
from keeper.secrets import from_env

NAME = "odos"
PUBLIC_BASE_URL = "https://api.odos.xyz"
ENTERPRISE_BASE_URL = "https://enterprise-api.odos.xyz"


class OdosSource:
    """Quotes from Odos. `slippage_bps` is sent as `slippageLimitPercent` (1 = 1%)."""

    name = NAME

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key_env: str = "ODOS_API_KEY",
        quote_version: str = "v2",
        slippage_bps: int = 50,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if quote_version not in ("v2", "v3"):
            raise ValueError("quote_version must be v2 or v3")
        key = from_env(api_key_env, purpose="Odos quotes", required=False)
        headers = {"x-api-key": key} if key else {}
        base = base_url or (ENTERPRISE_BASE_URL if key else PUBLIC_BASE_URL)
        self.quote_version = quote_version
        self.slippage_bps = slippage_bps
        self._http = AggregatorClient(
            NAME,
            base,
            headers=headers,
            auth_hint=f"check the Odos API key in {api_key_env}",
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            client=client,
        )

    def quote(
        self, chain_id: int, token_in: str, token_out: str, amount_in_raw: int, taker: str
    ) -> Quote:
        request = {
            "chainId": chain_id,
            "inputTokens": [
                {"tokenAddress": checksum(token_in, "token_in"), "amount": str(amount_in_raw)}
            ],
            "outputTokens": [{"tokenAddress": checksum(token_out, "token_out"), "proportion": 1}],
            # a percentage parameter of the API (1 = 1%), not an amount of money
            "slippageLimitPercent": self.slippage_bps / 100,
            "userAddr": checksum(taker, "taker"),
            "referralCode": 0,
            "disableRFQs": True,
            "compact": True,
        }
        quoted = self._http.post(f"/sor/quote/{self.quote_version}", request, "quote")
        path_id, amount_out, gas = parse_quote(
            quoted, token_in=token_in, token_out=token_out, amount_in_raw=amount_in_raw
        )
        assembled = self._http.post(
            "/sor/assemble",
            {"userAddr": checksum(taker, "taker"), "pathId": path_id, "simulate": False},
            "assemble",
        )
        return parse_assemble(
            assembled,
            chain_id=chain_id,
            token_in=token_in,
            token_out=token_out,
            amount_in_raw=amount_in_raw,
            taker=taker,
            quoted_out_raw=amount_out,
            gas_estimate=gas,
            path_id=path_id,
        )


def parse_quote(
    body: dict[str, Any], *, token_in: str, token_out: str, amount_in_raw: int
) -> tuple[str, int, int]:
    """A quote answer -> (pathId, output raw units, gas estimate)."""
    try:
        in_tokens, out_tokens = body["inTokens"], body["outTokens"]
        in_amounts, out_amounts = body["inAmounts"], body["outAmounts"]
    except KeyError as e:
        raise BadQuote(f"{NAME}: quote answer lacks {e.args[0]}") from e
    if [t.lower() for t in in_tokens] != [token_in.lower()] or [t.lower() for t in out_tokens] != [
        token_out.lower()
    ]:
        raise BadQuote(
            f"{NAME}: quote is for {in_tokens} -> {out_tokens}, not {token_in} -> {token_out}"
        )
    if raw_int(in_amounts[0], "inAmounts[0]", NAME) != amount_in_raw:
        raise BadQuote(f"{NAME}: quote sells {in_amounts[0]}, not the requested {amount_in_raw}")
    path_id = body.get("pathId")
    if not isinstance(path_id, str) or not path_id:
        raise BadQuote(f"{NAME}: quote has no pathId (was userAddr sent?)")
    return (
        path_id,
        raw_int(out_amounts[0], "outAmounts[0]", NAME),
        raw_int(body.get("gasEstimate", 0), "gasEstimate", NAME),
    )


def parse_assemble(
    body: dict[str, Any],
    *,
    chain_id: int,
    token_in: str,
    token_out: str,
    amount_in_raw: int,
    taker: str,
    quoted_out_raw: int,
    gas_estimate: int,
    path_id: str,
) -> Quote:
    """An assemble answer -> an executable `Quote` (the router in `transaction.to` is the spender)."""
    tx = body.get("transaction")
    if not isinstance(tx, dict):
        raise BadQuote(f"{NAME}: assemble answer has no transaction object")
    if str(tx.get("from", taker)).lower() != taker.lower():
        raise BadQuote(f"{NAME}: assembled tx is from {tx.get('from')}, not the taker {taker}")
    if "chainId" in tx and raw_int(tx["chainId"], "transaction.chainId", NAME) != chain_id:
        raise BadQuote(f"{NAME}: assembled tx is for chain {tx['chainId']}, not {chain_id}")
    outputs = body.get("outputTokens") or []
    amount_out = quoted_out_raw
    if outputs:
        if str(outputs[0].get("tokenAddress", "")).lower() != token_out.lower():
            raise BadQuote(
                f"{NAME}: assembled output token {outputs[0].get('tokenAddress')} is not {token_out}"
            )
        amount_out = raw_int(outputs[0].get("amount"), "outputTokens[0].amount", NAME)
    data = tx.get("data")
    if not isinstance(data, str) or not data.startswith("0x"):
        raise BadQuote(f"{NAME}: assembled transaction.data is not hex")
    router = checksum(str(tx.get("to")), f"{NAME} transaction.to")
    return Quote(
        source=NAME,
        chain_id=chain_id,
        token_in=checksum(token_in, "token_in"),
        token_out=checksum(token_out, "token_out"),
        amount_in_raw=amount_in_raw,
        amount_out_raw=amount_out,
        router=router,
        spender=router,
        calldata=data,
        value_wei=raw_int(tx.get("value", "0"), "transaction.value", NAME),
        gas_estimate=gas_estimate or raw_int(tx.get("gas", 0), "transaction.gas", NAME),
        quote_id=path_id,
    )
