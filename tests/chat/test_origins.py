"""The console socket's Origin check compares scheme, host and port (chat/origins.py):
through the real ASGI application, with a logged-in agent's cookie."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat.origins import origin_allowed
from config.asgi import application
from config.proxies import TrustedProxyMiddleware, parse_networks
from tests.factories import make_agent, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


# A balancer at 10.0.0.5 that TRUSTED_PROXIES lists: only its X-Forwarded-Proto counts.
BEHIND_BALANCER = TrustedProxyMiddleware(application.app, parse_networks(["10.0.0.0/8"]))


async def connects(
    origin: bytes | None, host: bytes | None = None, app=application, peer=None, **extra: bytes
) -> bool:
    agent = await database_sync_to_async(make_agent)()
    sid = await database_sync_to_async(session_cookie)(agent)
    headers = [(b"cookie", f"sessionid={sid}".encode())]
    if origin is not None:
        headers.append((b"origin", origin))
    if host is not None:
        headers.append((b"host", host))
    headers += [(k.replace("_", "-").encode(), v) for k, v in extra.items()]
    comm = WebsocketCommunicator(app, "/ws/agent/", headers=headers)
    if peer is not None:
        comm.scope["client"] = (peer, 40000)
    connected, _ = await comm.connect(timeout=5)
    if connected:
        assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    await comm.disconnect()
    return connected


async def test_the_console_socket_wants_its_own_port_and_scheme():
    # The handshake came to 127.0.0.1:8000: only that origin is the console's own.
    assert await connects(b"http://127.0.0.1:8000", b"127.0.0.1:8000")
    assert not await connects(b"http://127.0.0.1:9999", b"127.0.0.1:8000")
    assert not await connects(b"https://127.0.0.1:8000", b"127.0.0.1:8000")
    assert not await connects(b"http://localhost:8000", b"127.0.0.1:8000")
    assert not await connects(None, b"127.0.0.1:8000")


async def test_without_a_host_header_an_allowed_host_on_its_default_port_is_expected():
    assert await connects(b"http://127.0.0.1")
    assert not await connects(b"http://127.0.0.1:9999")  # passed Channels' host-only check
    assert not await connects(b"http://evil.example")


async def test_a_host_outside_allowed_hosts_is_refused_even_when_the_origin_matches():
    assert not await connects(b"http://evil.example:8000", b"evil.example:8000")


async def test_behind_a_tls_balancer_the_forwarded_scheme_counts(settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    forwarded = {"x_forwarded_proto": b"https", "app": BEHIND_BALANCER, "peer": "10.0.0.5"}
    assert await connects(b"https://chat.example.com", b"chat.example.com", **forwarded)
    assert not await connects(b"http://chat.example.com", b"chat.example.com", **forwarded)
    # The same header from a peer that is not a trusted proxy is dropped: plain http.
    spoofed = {"x_forwarded_proto": b"https", "app": BEHIND_BALANCER, "peer": "192.0.2.7"}
    assert not await connects(b"https://chat.example.com", b"chat.example.com", **spoofed)
    assert await connects(b"http://chat.example.com", b"chat.example.com")
    settings.HTTPS_ONLY = True  # the site is https only: a plain-http origin never is ours
    assert not await connects(b"http://chat.example.com", b"chat.example.com")
    assert await connects(b"https://chat.example.com", b"chat.example.com")


def test_csrf_trusted_origins_are_accepted_exactly(settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.com", "https://*.corp.example"]

    def scope(origin: str) -> dict:
        return {"headers": [(b"origin", origin.encode()), (b"host", b"chat.example.com")]}

    assert origin_allowed(scope("https://console.example.com"))
    assert origin_allowed(scope("https://console.example.com:443"))
    assert not origin_allowed(scope("https://console.example.com:8443"))
    assert not origin_allowed(scope("http://console.example.com"))
    assert origin_allowed(scope("https://eu.corp.example"))
    assert not origin_allowed(scope("https://corp.example.evil"))
    for junk in ("null", "file://", "http://[::1", "http://h:99999", "javascript:alert(1)"):
        assert not origin_allowed(scope(junk))
