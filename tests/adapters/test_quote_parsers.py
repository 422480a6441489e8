"""Aggregator answer parsers against the real payloads in ../shared/data/api-samples/."""

import json

import pytest

from keeper.quotes import odos, oneinch, zerox
from keeper.quotes.base import BadQuote, NoRoute


@pytest.fixture
def sample(shared_data):
    def load(name):
        return json.loads((shared_data / "api-samples" / name).read_text())

    return load


def test_oneinch_swap__sdk_sample__executable_quote(sample):
    s = sample("1inch-swap-v6-swap.json")
    q = s["request"]["query"]
    quote = oneinch.parse_swap(
        s["response_200_example_from_sdk_test"],
        chain_id=1,
        token_in=q["src"],
        token_out=q["dst"],
        amount_in_raw=int(q["amount"]),
        taker=q["from"],
    )
    assert quote.amount_out_raw == 6
    assert quote.router == quote.spender == "0x1111111254EEB25477B68fb85Ed929f73A960582"
    assert quote.gas_estimate == 257_615 and quote.value_wei == 0
    assert quote.calldata.startswith("0x0502b1c5") and quote.executable


def test_oneinch_swap__openapi_example_with_value__value_parsed(sample):
    body = sample("1inch-swap-v6-swap.json")["response_200_schema_example_from_openapi"]
    quote = oneinch.parse_swap(
        body,
        chain_id=1,
        token_in="0x" + "ee" * 20,
        token_out="0x111111111117dc0aa78b770fa6a738034120c302",
        amount_in_raw=10**16,
        taker="0x1111111111111111111111111111111111111111",
    )
    assert quote.amount_out_raw == 62131879850006790961
    assert quote.value_wei == 10**16


def test_oneinch_swap__tx_from_someone_else__refused(sample):
    s = sample("1inch-swap-v6-swap.json")
    q = s["request"]["query"]
    with pytest.raises(BadQuote, match="not the taker"):
        oneinch.parse_swap(
            s["response_200_example_from_sdk_test"],
            chain_id=1,
            token_in=q["src"],
            token_out=q["dst"],
            amount_in_raw=10_000,
            taker="0x" + "99" * 20,
        )


def test_oneinch_swap__other_tokens__refused(sample):
    s = sample("1inch-swap-v6-swap.json")
    with pytest.raises(BadQuote, match="srcToken"):
        oneinch.parse_swap(
            s["response_200_example_from_sdk_test"],
            chain_id=1,
            token_in="0x" + "aa" * 20,
            token_out=s["request"]["query"]["dst"],
            amount_in_raw=10_000,
            taker=s["request"]["query"]["from"],
        )


def test_oneinch_quote__sdk_sample__indicative_price(sample):
    s = sample("1inch-swap-v6-quote.json")
    q = s["request"]["query"]
    quote = oneinch.parse_quote(
        s["response_200_example_from_sdk_test"],
        chain_id=1,
        token_in=q["src"],
        token_out=q["dst"],
        amount_in_raw=int(q["amount"]),
    )
    assert (quote.amount_out_raw, quote.gas_estimate) == (289424403260095, 181_416)
    assert not quote.executable


def test_zerox_quote__spec_example__spender_is_allowance_holder(sample):
    s = sample("0x-swap-v2-allowance-holder-quote.json")
    q = s["request"]["query_example"]
    quote = zerox.parse_quote(
        s["response_200_example"],
        chain_id=1,
        token_in=q["sellToken"],
        token_out=q["buyToken"],
        amount_in_raw=int(q["sellAmount"]),
    )
    assert quote.amount_out_raw == 100037537
    assert quote.source_min_out_raw == 99037162
    assert quote.spender.lower() == "0x0000000000001ff3684f28c67538d4d072c22734"
    assert quote.router.lower() == "0x7f6cee965959295cc64d0e6c00d99d6532d8e86b"
    assert quote.gas_estimate == 288_079 and quote.quote_id == "0x111111111111111111111111"


@pytest.mark.parametrize(
    "example", ["response_200_example", "response_200_example_from_docs_guide"]
)
def test_zerox_price__both_examples__indicative(sample, example):
    body = sample("0x-swap-v2-allowance-holder-price.json")[example]
    quote = zerox.parse_quote(
        body,
        chain_id=1,
        token_in=body["sellToken"],
        token_out=body["buyToken"],
        amount_in_raw=int(body["sellAmount"]),
        executable=False,
    )
    assert quote.amount_out_raw == int(body["buyAmount"])
    assert quote.gas_estimate == int(body["gas"]) and not quote.executable


def test_zerox_quote__different_sell_amount__refused(sample):
    s = sample("0x-swap-v2-allowance-holder-quote.json")
    body = s["response_200_example"]
    with pytest.raises(BadQuote, match="sells 100000000"):
        zerox.parse_quote(
            body,
            chain_id=1,
            token_in=body["sellToken"],
            token_out=body["buyToken"],
            amount_in_raw=5,
        )


def test_zerox_quote__no_liquidity__no_route():
    with pytest.raises(NoRoute):
        zerox.parse_quote(
            {"liquidityAvailable": False, "zid": "0x1"},
            chain_id=1,
            token_in="0x" + "aa" * 20,
            token_out="0x" + "bb" * 20,
            amount_in_raw=1,
        )


def test_odos_quote__real_capture__path_amount_gas(sample):
    body = sample("odos-sor-quote-v2.json")["response_200_example_real_capture"]
    path_id, out, gas = odos.parse_quote(
        body,
        token_in=body["inTokens"][0],
        token_out=body["outTokens"][0],
        amount_in_raw=1_000_000_000,
    )
    assert (path_id, out, gas) == (
        "1da944216e40ed12547386fd845f83bc",
        382462685497413140480,
        1_664_024,
    )


def test_odos_quote__no_path_id__refused(sample):
    body = dict(sample("odos-sor-quote-v2.json")["response_200_example_real_capture"], pathId=None)
    with pytest.raises(BadQuote, match="pathId"):
        odos.parse_quote(
            body,
            token_in=body["inTokens"][0],
            token_out=body["outTokens"][0],
            amount_in_raw=1_000_000_000,
        )


def test_odos_assemble__documented_fields_filled__executable_quote(sample):
    """The assemble sample is a field skeleton (no verbatim answer exists): fill its placeholders
    and check the parser reads every documented field it needs."""
    skeleton = sample("odos-sor-assemble.json")["response_200_skeleton_from_docs"]
    taker, router, token_in, token_out = (
        "0x" + "aa" * 20,
        "0x" + "cc" * 20,
        "0x" + "11" * 20,
        "0x" + "22" * 20,
    )
    filled = json.loads(
        json.dumps(skeleton)
        .replace('"<addr>"', '"PLACE"', 1)
        .replace("PLACE", token_in)
        .replace('"<addr>"', f'"{token_out}"')
        .replace('"<base units>"', '"5000"', 1)
        .replace('"<base units>"', '"777"')
        .replace('"<Odos router>"', f'"{router}"')
        .replace('"<userAddr>"', f'"{taker}"')
        .replace('"0x<calldata>"', '"0xabcdef"')
        .replace('"<string wei>"', '"0"')
        .replace('"<int gas limit>"', "400000")
        .replace('"<int naive gas>"', "200000")
    )
    quote = odos.parse_assemble(
        filled,
        chain_id=1,
        token_in=token_in,
        token_out=token_out,
        amount_in_raw=5000,
        taker=taker,
        quoted_out_raw=770,
        gas_estimate=200_000,
        path_id="p",
    )
    assert quote.amount_out_raw == 777 and quote.calldata == "0xabcdef"
    assert quote.router.lower() == router and quote.spender == quote.router


def test_odos_assemble__raw_skeleton_placeholders__refused(sample):
    skeleton = sample("odos-sor-assemble.json")["response_200_skeleton_from_docs"]
    with pytest.raises(BadQuote, match="output token <addr>"):
        odos.parse_assemble(
            skeleton,
            chain_id=1,
            token_in="0x" + "11" * 20,
            token_out="0x" + "22" * 20,
            amount_in_raw=1,
            taker="<userAddr>",
            quoted_out_raw=1,
            gas_estimate=1,
            path_id="p",
        )
