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
