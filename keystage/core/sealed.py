"""Files kept encrypted at rest (transfer CTFs): Fernet from the `cryptography` package.

Keys come from KEYSTAGE_FILE_KEYS (newest first; older keys still decrypt, so keys can be
rotated); without it, one key is derived from SECRET_KEY so a fresh install works. See
docs/adr/0006-transfer-files-encrypted-with-fernet.md.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SealBroken(Exception):
    """A stored file cannot be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(b"keystage-file-key:" + secret.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(k) for k in keys])


def seal(data: bytes) -> bytes:
    """Encrypt and authenticate bytes for storage."""
    return _fernet(tuple(settings.KEYSTAGE_FILE_KEYS), settings.SECRET_KEY).encrypt(data)


def unseal(token: bytes) -> bytes:
    """The bytes a seal() call stored; SealBroken if no key opens them or they were altered."""
    try:
        return _fernet(tuple(settings.KEYSTAGE_FILE_KEYS), settings.SECRET_KEY).decrypt(
            bytes(token))
    except InvalidToken as error:
        raise SealBroken("the stored file cannot be decrypted with the configured keys") from error
