"""Password and API-key hashing in passlib's ``pbkdf2_sha512`` format, as Odoo stores them.

The round count is far below Odoo's (600,000) because the sandbox re-checks the password on every
``execute_kw`` like Odoo does, and its tests and demo run on small machines; the database caches
verified credentials on top of that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ROUNDS = 2000
#: Odoo API keys are 40 hex characters; the first 8 are stored in clear as a lookup index
API_KEY_LENGTH = 40
API_KEY_INDEX_LENGTH = 8


def _ab64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


def _ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, rounds: int = ROUNDS) -> str:
    """``$pbkdf2-sha512$<rounds>$<salt>$<checksum>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, rounds)
    return f"$pbkdf2-sha512${rounds}${_ab64(salt)}${_ab64(digest)}"


def verify_secret(secret: str, hashed: str | None) -> bool:
    """Whether ``secret`` matches a hash made by :func:`hash_secret`."""
    if not hashed or not secret:
        return False
    try:
        _, scheme, rounds, salt, checksum = hashed.split("$")
        if scheme != "pbkdf2-sha512":
            return False
        digest = hashlib.pbkdf2_hmac(
            "sha512", secret.encode("utf-8"), _ab64_decode(salt), int(rounds)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, _ab64_decode(checksum))


def new_api_key() -> str:
    """A fresh API key in Odoo's format (40 hex characters)."""
    return secrets.token_hex(API_KEY_LENGTH // 2)
