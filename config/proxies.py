"""Proxy headers are believed only from the proxies in TRUSTED_PROXIES (DESIGN.md §1).

daphne's own ``--proxy-headers`` believes ``X-Forwarded-For`` from anyone, so a spoofed
header got past the anonymous throttle (130 extra visitors in a probe). This ASGI
middleware replaces it: when the peer is a trusted proxy, the client is the right-most
address of ``X-Forwarded-For`` that is not itself a trusted proxy (the left part of the
header is whatever the client sent, and cannot be believed); ``X-Forwarded-Proto`` gives
the scheme. From any other peer both headers are removed, so nothing behind this
(Django's ``SECURE_PROXY_SSL_HEADER``, DRF's throttles) can read a forged one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_XFF = b"x-forwarded-for"
_XFP = b"x-forwarded-proto"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks; a bad entry raises ValueError."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(value: str):
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:5678"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, networks) -> str | None:
    """The client's address as this server should believe it."""
    if not forwarded_for or not _trusted(_address(peer or ""), networks):
        return peer
    hops = [h for h in (p.strip() for p in forwarded_for.split(",")) if h]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # a garbled header: believe the proxy itself, not a guess
        if not _trusted(address, networks):
            return str(address)
    return str(_address(hops[0])) if hops else peer


class TrustedProxyMiddleware:
    def __init__(self, app, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        client = scope.get("client")
        peer = client[0] if client else None
        headers = scope.get("headers") or []
        forwarded = [v for k, v in headers if k == _XFF]
        proto = [v for k, v in headers if k == _XFP]
        if not forwarded and not proto:
            return await self.app(scope, receive, send)
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in headers if k not in (_XFF, _XFP)]
        if _trusted(_address(peer or ""), self.networks):
            # Several headers are one list, in order (RFC 9110 §5.3).
            joined = ",".join(v.decode("latin-1") for v in forwarded)
            host = client_address(peer, joined, self.networks)
            if host != peer:
                scope["client"] = (host, 0)
            if proto:
                scheme = proto[-1].decode("latin-1").split(",")[-1].strip().lower()
                if scheme in ("http", "https"):
                    secure = scheme == "https"
                    if scope["type"] == "websocket":
                        scope["scheme"] = "wss" if secure else "ws"
                    else:
                        scope["scheme"] = scheme
        return await self.app(scope, receive, send)
