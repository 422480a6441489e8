"""Secrets: where they come from, and the guarantee that they never reach logs, errors or the journal.

Secrets (private keys, keystore passwords, API keys and secrets, relay reputation keys) come from
the environment or an encrypted keystore, never from the YAML config. Every module that reads a
secret registers it here with `register`; `redact` then replaces any registered value (and anything
that looks like a raw private key) with a fixed marker. `install_log_filter` applies `redact` to
every log record, so even a careless `log.debug(request)` cannot leak a registered secret.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from urllib.parse import urlsplit

from keeper.errors import ConfigError

REDACTED = "<redacted>"

# 32-byte hex strings with a 0x prefix are private keys or hashes; hashes are useful in logs, so
# only values registered as secrets are scrubbed exactly, and values ASSIGNED to a key-like name
# (`password=...`, `api_key: ...`, `"secret": "..."`, `?apiKey=...`) are scrubbed by pattern.
# An assignment needs "=" or ":": prose that merely names a key ("set BINANCE_API_KEY and
# BINANCE_API_SECRET", "secrets never live in keeper.yaml") stays readable.
_KEY_LIKE = re.compile(
    r"(?i)((?:private[_-]?key|secret|password|passphrase|api[_-]?key)[\"']?\s*[=:]\s*[\"']?)(?!<redacted>)([^\s,;'\"}&<]+)"
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register(value: str | bytes | None) -> None:
    """Remember `value` as a secret so `redact` scrubs it wherever it appears."""
    if not value:
        return
    text = value.hex() if isinstance(value, bytes) else str(value)
    if len(text) < 4:  # too short to scrub safely; such a secret is a config error elsewhere
        return
    with _lock:
        _secrets.add(text)
        if text.startswith("0x"):
            _secrets.add(text[2:])
        else:
            _secrets.add("0x" + text)


def forget_all() -> None:
    """Tests only: clear the registry."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """`text` with every registered secret and every key-like assignment replaced."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _KEY_LIKE.sub(lambda m: m.group(1) + REDACTED, text)


def from_env(name: str, *, purpose: str, required: bool = True) -> str | None:
    """Read a secret from the environment variable `name`, register it, and return it."""
    value = os.environ.get(name)
    if not value:
        if required:
            raise ConfigError(f"{purpose}: set the environment variable {name} (secrets never live in keeper.yaml)")
        return None
    register(value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach `RedactingFilter` to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def safe_url(url: str) -> str:
    """`scheme://host[:port]` only: RPC and fork URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
