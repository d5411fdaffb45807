"""Secrets handed to people (survey links, API tokens) are random and stored only as hashes."""

import hashlib
import secrets


def new_secret_token(nbytes: int = 24) -> tuple[str, str]:
    """Return (token, its hash): 192 random bits by default, URL-safe."""
    token = secrets.token_urlsafe(nbytes)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # A fast hash is right here: the tokens are long and random, so there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
