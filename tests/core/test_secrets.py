from keeper import secrets
from keeper.secrets import REDACTED, redact


def test_redact__registered_secret__replaced_everywhere():
    secrets.register("0x" + "ab" * 32)
    try:
        text = redact(f"signing with {'ab' * 32} and 0x{'ab' * 32}")
        assert "ab" * 32 not in text and text.count(REDACTED) == 2
    finally:
        secrets.forget_all()


def test_redact__key_like_assignment__value_replaced():
    assert redact("password=hunter2 api_key: abc") == f"password={REDACTED} api_key: {REDACTED}"


def test_redact__applied_twice__same_text():
    once = redact("password=hunter2, secret: s3cr3t")
    assert redact(once) == once


def test_redact__prose_naming_keys__left_readable():
    line = (
        "venue alpaca: set ALPACA_API_KEY and ALPACA_API_SECRET (secrets never live in keeper.yaml)"
    )
    assert redact(line) == line


def test_redact__json_and_query_assignments__values_replaced():
    assert (
        redact('{"api_key": "abc123", "secret":"s3"}')
        == f'{{"api_key": "{REDACTED}", "secret":"{REDACTED}"}}'
    )
    assert redact("GET /v1?apiKey=abc123&x=1") == f"GET /v1?apiKey={REDACTED}&x=1"
