"""Proxy headers are believed only from TRUSTED_PROXIES (config/proxies.py): a spoofed
X-Forwarded-For changes nothing (a probe created 130 extra visitors past the anonymous
throttle with one)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from django.core.cache import cache

from config.proxies import TrustedProxyMiddleware, client_address, parse_networks
from tests.browser.conftest import asgi_server, server_env  # noqa: F401  (fixtures)
from tests.factories import make_site

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not a proxy: the header is ignored
        ("127.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the left part is the client's own
        ("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.7", "1.2.3.4"),  # a chain of our proxies
        ("127.0.0.1", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # all ours: the first
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # garbled: the proxy itself
        ("127.0.0.1", "[2001:db8::1]:443", "2001:db8::1"),
        ("127.0.0.1", "1.2.3.4:5678", "1.2.3.4"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_the_client_address(peer, header, client):
    assert client_address(peer, header, PROXIES) == client


def _through(networks, client, headers) -> dict:
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": "http", "client": client, "headers": headers, "scheme": "http"}
    asyncio.run(TrustedProxyMiddleware(app, networks)(scope, None, None))
    return seen


def test_forwarded_headers_from_anyone_else_are_removed():
    headers = [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https"), (b"a", b"b")]
    seen = _through(PROXIES, ("203.0.113.9", 5000), headers)
    assert seen["client"] == ("203.0.113.9", 5000)
    assert seen["headers"] == [(b"a", b"b")]
    assert seen["scheme"] == "http"  # Django would have believed X-Forwarded-Proto
    seen = _through(PROXIES, ("127.0.0.1", 5000), headers)
    assert seen["client"] == ("1.2.3.4", 0) and seen["scheme"] == "https"


def test_no_trusted_proxies_by_default(settings):
    assert settings.TRUSTED_PROXIES == []
    seen = _through(
        parse_networks(settings.TRUSTED_PROXIES),
        ("127.0.0.1", 1),
        [(b"x-forwarded-for", b"1.2.3.4")],
    )
    assert seen["client"] == ("127.0.0.1", 1)


@pytest.fixture
def _anon_budget_fresh():
    """The anonymous throttle counts per address in the shared cache: in-process tests
    (127.0.0.1 too) must not have spent this test's budget."""
    for ident in ("127.0.0.1", "198.51.100.1", "198.51.100.2"):
        cache.delete(f"throttle_anon_{ident}")


def _session(url: str, site_key: str, forwarded_for: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    request = urllib.request.Request(
        f"{url}/api/v1/widget/sessions/",
        data=json.dumps({"site_key": site_key}).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("server_env", [{"API_ANON_RATE": "3/min"}])
@pytest.mark.live
@pytest.mark.postgres
@pytest.mark.redis
def test_a_spoofed_forwarded_for_gets_past_nothing_under_runparleys_server(
    _anon_budget_fresh,
    asgi_server,  # noqa: F811
):
    site = make_site()
    assert [_session(asgi_server.url, site.key, None) for _ in range(3)] == [200] * 3
    spoofed = [_session(asgi_server.url, site.key, f"198.51.100.{i}") for i in range(10)]
    assert spoofed == [429] * 10


@pytest.mark.parametrize(
    "server_env", [{"API_ANON_RATE": "3/min", "TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8"}]
)
@pytest.mark.live
@pytest.mark.postgres
@pytest.mark.redis
def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    _anon_budget_fresh,
    asgi_server,  # noqa: F811
):
    site = make_site()
    first = [_session(asgi_server.url, site.key, "198.51.100.1") for _ in range(4)]
    assert first == [200, 200, 200, 429]
    # Another client behind the proxy; what it put left of the proxy's entry is ignored.
    second = [_session(asgi_server.url, site.key, "198.51.100.1, 198.51.100.2") for _ in range(4)]
    assert second == [200, 200, 200, 429]


@pytest.mark.live
@pytest.mark.postgres
@pytest.mark.redis
def test_an_empty_multipart_body_gets_a_json_error_from_the_real_server(asgi_server):  # noqa: F811
    """Twisted answered a bare 400 with no body; the API takes JSON only: 415, in the shape."""
    for body in (b"--xx--", b"garbage", b""):
        request = urllib.request.Request(
            f"{asgi_server.url}/api/v1/widget/sessions/",
            data=body,
            headers={"Content-Type": "multipart/form-data; boundary=xx"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=30)
        assert info.value.code in (400, 415)
        assert info.value.headers["Content-Type"].startswith("application/json")
        assert json.loads(info.value.read())["error"]["code"] in (
            "unsupported_media_type",
            "invalid_field",  # the empty body: the site_key is missing
        )
