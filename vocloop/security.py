"""Secrets handed to people (survey links, API tokens) are random and stored only as hashes.

Secrets vocloop itself must use again (the signing secrets of outbound webhooks) cannot be hashed;
they are sealed (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY, so a copy
of the database alone does not give them away. SECRET_KEY_FALLBACKS (Flask's own setting for a
key being rotated out) still opens what the old key sealed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask.sessions import SecureCookieSessionInterface


class SealBroken(Exception):
    """A sealed value no configured key opens (SECRET_KEY changed without a fallback)."""


def new_secret_token(nbytes: int = 24) -> tuple[str, str]:
    """Return (token, its hash): 192 random bits by default, URL-safe."""
    token = secrets.token_urlsafe(nbytes)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # A fast hash is right here: the tokens are long and random, so there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def seal(text: str) -> str:
    return _sealer().encrypt(text.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _sealer().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SealBroken("sealed with a key that is neither SECRET_KEY nor in SECRET_KEY_FALLBACKS") from None


def _sealer() -> MultiFernet:
    config = current_app.config
    return _sealer_for((config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())))


@cache
def _sealer_for(keys: tuple[str, ...]) -> MultiFernet:
    """The first key seals; every key opens."""
    return MultiFernet([Fernet(base64.urlsafe_b64encode(HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"vocloop sealed secrets").derive(key.encode())))
        for key in keys])


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, its signer made once per set of keys instead of on every request
    (itsdangerous builds it with a JSON round trip: about 9 us of CPU on each of the customers' clicks,
    which have no session at all). A rotated SECRET_KEY or SECRET_KEY_FALLBACKS makes a new one."""

    _made: tuple[tuple, object] | None = None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]
