"""A local server that speaks the aggregator endpoints our quote sources use, for tests and the demo.

Under one base URL it serves:
- 1inch v6: `GET /1inch/swap/v6.0/{chain}/swap`, `/quote`, `/approve/spender`
  (`Authorization: Bearer <key>`);
- 0x v2: `GET /0x/swap/allowance-holder/quote`, `/price` (`0x-api-key`, `0x-version: v2`);
- Odos: `POST /odos/sor/quote/v2` (and `/v3`), `POST /odos/sor/assemble` (optional `x-api-key`).

The answers have the shapes of the real ones (../shared/data/api-samples/). The quote maths comes
from a pluggable `PriceFn`: `fixed_rate_price_fn` gives deterministic answers for tests; the lead
plugs in Uniswap QuoterV2 on the devnet so the returned calldata is executable. Faults can be
queued per API (`fail_next`) to exercise the clients' retries. Test and demo use only.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from keeper.devnet.httpserver import Hang, LocalServer, Request, Response


@dataclass(frozen=True)
class PricedRoute:
    """What a price function answers: output (raw units), the router to call, calldata, gas, value."""

    amount_out: int
    router: str
    calldata: bytes
    gas: int
    value: int = 0
    spender: str | None = None  # defaults to the router


#: (chain_id, token_in, token_out, amount_in_raw, taker, slippage_bps) -> a route, or None (no liquidity)
PriceFn = Callable[[int, str, str, int, str, int], PricedRoute | None]

SWAP_SELECTOR = keccak(text="swap(address,address,uint256,uint256,address)")[:4]


def fixed_rate_price_fn(
    rates: dict[tuple[str, str], Fraction], *, router: str, gas: int = 150_000
) -> PriceFn:
    """Deterministic prices: `amount_out = floor(amount_in x rate)` for the listed (in, out) pairs.

    The calldata encodes `swap(tokenIn, tokenOut, amountIn, minOut, taker)` with
    `minOut = amount_out x (1 - slippage)`, so a test can check what the source baked in.
    """
    table = {(a.lower(), b.lower()): rate for (a, b), rate in rates.items()}

    def price(
        chain_id: int, token_in: str, token_out: str, amount_in: int, taker: str, slippage_bps: int
    ):
        rate = table.get((token_in.lower(), token_out.lower()))
        if rate is None:
            return None
        out = int(amount_in * rate)
        min_out = out * (10_000 - slippage_bps) // 10_000
        data = SWAP_SELECTOR + encode(
            ["address", "address", "uint256", "uint256", "address"],
            [
                to_checksum_address(token_in),
                to_checksum_address(token_out),
                amount_in,
                min_out,
                to_checksum_address(taker),
            ],
        )
        return PricedRoute(out, router, data, gas)

    return price


@dataclass
class _Fault:
    status: int | None  # None: hang (the client times out)
    hang_s: float = 0.0


class LocalAggregators:
    """The three aggregator APIs on one local server. Keys set here are required by the server."""

    def __init__(
        self,
        price_fn: PriceFn,
        *,
        oneinch_key: str | None = None,
        zerox_key: str | None = None,
        odos_key: str | None = None,
    ) -> None:
        self.price_fn = price_fn
        self.keys = {"1inch": oneinch_key, "0x": zerox_key, "odos": odos_key}
        self.requests: list[Request] = []
        self._faults: dict[str, deque[_Fault]] = {"1inch": deque(), "0x": deque(), "odos": deque()}
        self._paths: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = LocalServer(self._handle, name="local-aggregators")

    @property
    def url(self) -> str:
        return self._server.url

    def base_url(self, api: str) -> str:
        """The base URL to give the `api` client ("1inch", "0x" or "odos")."""
        return f"{self.url}/{api}"

    def start(self) -> LocalAggregators:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalAggregators:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self, api: str, *, status: int | None = 503, times: int = 1, hang_s: float = 1.0
    ) -> None:
        """Make the next `times` requests to `api` fail with `status` (None: hang for `hang_s`)."""
        with self._lock:
            self._faults[api].extend(_Fault(status, hang_s) for _ in range(times))

    # -----------------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response | Hang:
        with self._lock:
            self.requests.append(request)
        api = request.path.split("/")[1] if request.path.count("/") >= 1 else ""
        if api not in self._faults:
            return Response(404, {"error": "Not Found", "description": f"no API at {request.path}"})
        with self._lock:
            fault = self._faults[api].popleft() if self._faults[api] else None
        if fault is not None:
            if fault.status is None:
                return Hang(fault.hang_s)
            return Response(fault.status, {"error": "injected fault", "statusCode": fault.status})
        path = request.path[len(api) + 1 :]
        if api == "1inch":
            return self._oneinch(request, path)
        if api == "0x":
            return self._zerox(request, path)
        return self._odos(request, path)

    def _route(self, chain_id, token_in, token_out, amount_in, taker, slippage_bps):
        return self.price_fn(chain_id, token_in, token_out, amount_in, taker, slippage_bps)

    # 1inch v6 ----------------------------------------------------------------------------------

    def _oneinch(self, request: Request, path: str) -> Response:
        key = self.keys["1inch"]
        if key and request.headers.get("authorization") != f"Bearer {key}":
            return Response(401, {"statusCode": 401, "message": "Unauthorized"})
        match = re.fullmatch(r"/swap/v6\.0/(\d+)/(swap|quote|approve/spender)", path)
        if not match:
            return Response(404, {"statusCode": 404, "error": "Not Found", "description": path})
        chain_id, kind = int(match.group(1)), match.group(2)
        if kind == "approve/spender":
            route = self._route(
                chain_id, "0x" + "00" * 20, "0x" + "00" * 20, 0, "0x" + "00" * 20, 0
            )
            return Response(200, {"address": route.router if route else None})
        src, dst, amount = request.arg("src"), request.arg("dst"), request.arg("amount")
        if not (src and dst and amount and amount.isdigit()):
            return _oneinch_error("src, dst and amount are required")
        taker = request.arg("from") or "0x" + "00" * 20
        slippage = request.arg("slippage", "1")
        slippage_bps = int(Fraction(slippage) * 100)
        route = self._route(chain_id, src, dst, int(amount), taker, slippage_bps)
        if route is None:
            return _oneinch_error("insufficient liquidity")
        body = {
            "srcToken": {"address": src.lower(), "symbol": "SRC", "decimals": 18},
            "dstToken": {"address": dst.lower(), "symbol": "DST", "decimals": 18},
            "dstAmount": str(route.amount_out),
            "protocols": [
                [
                    [
                        {
                            "name": "LOCAL",
                            "part": 100,
                            "fromTokenAddress": src.lower(),
                            "toTokenAddress": dst.lower(),
                        }
                    ]
                ]
            ],
            "gas": route.gas,
        }
        if kind == "swap":
            if request.arg("from") is None:
                return _oneinch_error("from is required")
            body["tx"] = {
                "from": taker.lower(),
                "to": route.router.lower(),
                "data": "0x" + route.calldata.hex(),
                "value": str(route.value),
                "gas": route.gas,
                "gasPrice": "1000000000",
            }
        return Response(200, body)

    # 0x v2 ---------------------------------------------------------------------------------------

    def _zerox(self, request: Request, path: str) -> Response:
        key = self.keys["0x"]
        if key and request.headers.get("0x-api-key") != key:
            return Response(401, {"name": "UNAUTHORIZED", "message": "invalid api key"})
        if request.headers.get("0x-version") != "v2":
            return Response(
                400, {"name": "INPUT_INVALID", "message": "0x-version header must be v2"}
            )
        if path not in ("/swap/allowance-holder/quote", "/swap/allowance-holder/price"):
            return Response(404, {"name": "NOT_FOUND", "message": path})
        chain, sell, buy, amount = (
            request.arg(k) for k in ("chainId", "sellToken", "buyToken", "sellAmount")
        )
        if not (chain and sell and buy and amount and amount.isdigit()):
            return Response(
                400,
                {"name": "INPUT_INVALID", "message": "chainId, sellToken, buyToken, sellAmount"},
            )
        taker = request.arg("taker") or "0x" + "00" * 20
        slippage_bps = int(request.arg("slippageBps", "100"))
        route = self._route(int(chain), sell, buy, int(amount), taker, slippage_bps)
        if route is None:
            return Response(200, {"liquidityAvailable": False, "zid": self._zid()})
        spender = (route.spender or route.router).lower()
        body = {
            "allowanceTarget": spender,
            "blockNumber": "1",
            "buyAmount": str(route.amount_out),
            "buyToken": buy.lower(),
            "fees": {"integratorFee": None, "zeroExFee": None, "gasFee": None},
            "gas": str(route.gas),
            "gasPrice": "1000000000",
            "issues": {
                "allowance": {"actual": "0", "spender": spender},
                "balance": None,
                "simulationIncomplete": False,
                "invalidSourcesPassed": [],
            },
            "liquidityAvailable": True,
            "mode": "exact-in",
            "minBuyAmount": str(route.amount_out * (10_000 - slippage_bps) // 10_000),
            "route": {
                "fills": [
                    {
                        "from": sell.lower(),
                        "to": buy.lower(),
                        "source": "Local",
                        "proportionBps": "10000",
                    }
                ],
                "tokens": [
                    {"address": sell.lower(), "symbol": "SELL"},
                    {"address": buy.lower(), "symbol": "BUY"},
                ],
            },
            "sellAmount": amount,
            "sellToken": sell.lower(),
            "tokenMetadata": {
                "buyToken": {"buyTaxBps": "0", "sellTaxBps": "0"},
                "sellToken": {"buyTaxBps": "0", "sellTaxBps": "0"},
            },
            "totalNetworkFee": str(route.gas * 10**9),
            "zid": self._zid(),
        }
        if path.endswith("/quote"):
            body["transaction"] = {
                "to": route.router.lower(),
                "data": "0x" + route.calldata.hex(),
                "gas": str(route.gas),
                "gasPrice": "1000000000",
                "value": str(route.value),
            }
        return Response(200, body)

    def _zid(self) -> str:
        return "0x" + f"{next(self._ids):024x}"

    # Odos ----------------------------------------------------------------------------------------

    def _odos(self, request: Request, path: str) -> Response:
        key = self.keys["odos"]
        if key and request.headers.get("x-api-key") != key:
            return Response(401, {"detail": "invalid api key"})
        if request.method != "POST":
            return Response(405, {"detail": "use POST"})
        body = request.json()
        if path in ("/sor/quote/v2", "/sor/quote/v3"):
            return self._odos_quote(body)
        if path == "/sor/assemble":
            return self._odos_assemble(body)
        return Response(404, {"detail": path})

    def _odos_quote(self, body: dict) -> Response:
        try:
            chain_id = int(body["chainId"])
            token_in = body["inputTokens"][0]["tokenAddress"]
            amount_in = int(body["inputTokens"][0]["amount"])
            token_out = body["outputTokens"][0]["tokenAddress"]
        except (KeyError, IndexError, TypeError, ValueError):
            return Response(422, {"detail": "chainId, inputTokens and outputTokens are required"})
        taker = body.get("userAddr")
        slippage_bps = int(Fraction(str(body.get("slippageLimitPercent", 0.3))) * 100)
        route = self._route(
            chain_id, token_in, token_out, amount_in, taker or "0x" + "00" * 20, slippage_bps
        )
        if route is None:
            return Response(400, {"detail": "No viable path found", "traceId": "local"})
        path_id = f"{next(self._ids):032x}"
        if taker:
            with self._lock:
                self._paths[path_id] = {
                    "chainId": chain_id,
                    "taker": taker,
                    "route": route,
                    "in": token_in,
                    "out": token_out,
                    "amount": amount_in,
                }
        return Response(
            200,
            {
                "traceId": "local",
                "inTokens": [token_in.lower()],
                "outTokens": [token_out.lower()],
                "inAmounts": [str(amount_in)],
                "outAmounts": [str(route.amount_out)],
                "gasEstimate": float(route.gas),
                "dataGasEstimate": 0,
                "gweiPerGas": 1.0,
                "gasEstimateValue": 0.0,
                "inValues": [0.0],
                "outValues": [0.0],
                "netOutValue": 0.0,
                "priceImpact": 0.0,
                "percentDiff": 0.0,
                "partnerFeePercent": 0.0,
                "pathId": path_id if taker else None,
                "pathViz": None,
                "blockNumber": 1,
            },
        )

    def _odos_assemble(self, body: dict) -> Response:
        with self._lock:
            saved = self._paths.pop(str(body.get("pathId")), None)
        if saved is None:
            return Response(400, {"detail": "pathId not found or expired"})
        if str(body.get("userAddr", "")).lower() != saved["taker"].lower():
            return Response(400, {"detail": "userAddr does not match the quote"})
        route: PricedRoute = saved["route"]
        return Response(
            200,
            {
                "deprecated": None,
                "blockNumber": 1,
                "gasEstimate": route.gas,
                "gasEstimateValue": 0.0,
                "inputTokens": [{"tokenAddress": saved["in"], "amount": str(saved["amount"])}],
                "outputTokens": [{"tokenAddress": saved["out"], "amount": str(route.amount_out)}],
                "netOutValue": 0.0,
                "outValues": ["0"],
                "transaction": {
                    "chainId": saved["chainId"],
                    "gas": 2 * route.gas,
                    "gasPrice": 10**9,
                    "value": str(route.value),
                    "to": to_checksum_address(route.router),
                    "from": to_checksum_address(saved["taker"]),
                    "data": "0x" + route.calldata.hex(),
                    "nonce": 0,
                },
                "simulation": None,
            },
        )


def _oneinch_error(description: str) -> Response:
    return Response(
        400,
        {
            "error": "Bad Request",
            "description": description,
            "statusCode": 400,
            "requestId": "local",
            "meta": [],
        },
    )
