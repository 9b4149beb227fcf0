"""The console socket's Origin check: same origin as the handshake, scheme and port
included, as Django's CSRF check does for a form post.

Channels' AllowedHostsOriginValidator compares only the Origin's host name with
ALLOWED_HOSTS, so a page on any port or scheme of an allowed host (http://127.0.0.1:9999,
another local service) could open a cookie-authenticated console socket (cross-site
WebSocket hijacking). Here the Origin must equal the origin the browser was talking to:
the handshake's Host header (itself one of ALLOWED_HOSTS) under the handshake's scheme,
or be listed in CSRF_TRUSTED_ORIGINS.

The scheme: https when HTTPS_ONLY is set, when daphne's scope says wss, or when the
balancer says so in the header that SECURE_PROXY_SSL_HEADER trusts for HTTP requests
(daphne does not put the forwarded scheme in a websocket's scope); http otherwise.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin or URL, the port made explicit; None if invalid."""
    try:
        parts = urlsplit(value.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or ""), parts.port
    except ValueError:  # a port out of range or not a number
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), port or DEFAULT_PORTS[scheme]


def _handshake_scheme(scope: dict, headers: dict[bytes, bytes]) -> str:
    if getattr(settings, "HTTPS_ONLY", False) or scope.get("scheme") == "wss":
        return "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, value = proxy
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        if headers.get(header, b"").decode("latin-1").strip().lower() == value:
            return "https"
    return "http"


def _trusted(origin: Origin) -> bool:
    scheme, host, port = origin
    for entry in getattr(settings, "CSRF_TRUSTED_ORIGINS", []):
        trusted = parse_origin(entry.replace("*.", "", 1))
        if trusted is None or (trusted[0], trusted[2]) != (scheme, port):
            continue
        if host == trusted[1] or ("*." in entry and host.endswith("." + trusted[1])):
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    headers = dict(scope.get("headers", []))
    raw = headers.get(b"origin")
    origin = parse_origin(raw.decode("latin-1")) if raw else None
    if origin is None:
        return False  # browsers always send one; a socket without it is not a console
    if _trusted(origin):
        return True
    scheme = _handshake_scheme(scope, headers)
    allowed = settings.ALLOWED_HOSTS
    host_header = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if host_header:
        domain, _ = split_domain_port(host_header)
        if not domain or not validate_host(domain, allowed):
            return False
        expected = parse_origin(f"{scheme}://{host_header}")
        return expected == origin
    # No Host header (an in-process test client; browsers always send one): one of
    # ALLOWED_HOSTS itself, on the scheme's default port.
    candidates = {parse_origin(f"{scheme}://{h}") for h in allowed if "*" not in h}
    return origin in candidates


class SameOriginValidator:
    """ASGI middleware: refuses (HTTP 403 at the handshake) a socket whose Origin is not
    the console's own."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
