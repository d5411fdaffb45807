"""Posting a delivery to a receiver at the very address that was checked.

Checking a URL's name and then letting the HTTP client resolve it again leaves a gap: the
receiver's DNS can answer a public address to the check and a private one to the connection (DNS
rebinding), and the post reaches the internal network after all. So the name is resolved once,
every address it has is checked, and the connection goes to the first of them, with the name kept
as the Host header and for TLS (SNI and the certificate check). Environment proxies are not used:
a proxy would resolve the name itself.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError

MAX_REPLY_BYTES = 64 * 1024


class Refused(Exception):
    """The URL may not or cannot be called; the message says why."""


@dataclass(frozen=True)
class Reply:
    status: int
    text: str


def checked_address(hostname: str, port: int, *, allow_private: bool) -> str:
    """The one address the post will go to; Refused if the name does not resolve or any of its
    addresses is not public (while private ones are not allowed)."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {hostname}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if not address.is_global:
                raise Refused(f"{hostname} resolves to a non-public address ({address})")
    return str(addresses[0])


def check_destination(url: str, *, allow_private: bool) -> None:
    """Refused if a post to this URL would be refused for its address: the delivery's own check,
    run when the URL is saved so that whoever enters it learns why at once. (Delivery checks again:
    a name can point elsewhere later.)"""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not a number") from None
    if not parts.hostname:
        raise Refused("the URL has no host")
    if not allow_private:
        checked_address(parts.hostname, port, allow_private=False)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool,
         ca_bundle: str | None = None) -> Reply:
    """POST body to url (no redirects, no retries here: the caller schedules those). Refused, or
    urllib3's HTTPError for a connection that failed, timed out or did not verify (against
    ca_bundle, a PEM file, or else the public authorities)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    address = checked_address(parts.hostname, port, allow_private=allow_private)
    if secure:
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=parts.hostname,
                                           assert_hostname=parts.hostname, cert_reqs="CERT_REQUIRED",
                                           ca_certs=ca_bundle or certifi.where(), timeout=timeout, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool:
        reply = pool.urlopen("POST", target, body=body, headers={**headers, "Host": parts.netloc},
                             redirect=False, retries=False, preload_content=False)
        try:
            text = reply.read(MAX_REPLY_BYTES).decode("utf-8", "replace")
        finally:
            reply.release_conn()
    return Reply(reply.status, text)


__all__ = ["HTTPError", "Refused", "Reply", "check_destination", "checked_address", "post"]
