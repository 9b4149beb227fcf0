"""A webhook must not reach the server's neighbours, even through a name that answers a
public address when checked and a loopback one when connected (DNS rebinding): the check
is made on the socket actually connected. The resolver is played by a fake DNS (the
outside world); the connection, the receiver and the refusal are real."""

from __future__ import annotations

import socket

import pytest

from integrations import connections
from integrations.services import delivery

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"


@pytest.fixture
def rebinding_dns(monkeypatch):
    """rebind.test: a public address on the first lookup, loopback on every later one."""
    real = socket.getaddrinfo
    asked = []

    def lookup(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = PUBLIC if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return asked


@pytest.fixture
def private_refused(settings):
    settings.PARLEY_INTEGRATIONS = {**settings.PARLEY_INTEGRATIONS, "WEBHOOK_ALLOW_PRIVATE": False}
    connections.reset()


def test_a_name_that_rebinds_to_loopback_is_refused_at_connect(
    rebinding_dns, private_refused, receiver
):
    port = receiver.url.split(":")[2].split("/")[0]
    answer = delivery.http_post(f"http://rebind.test:{port}/hook", "{}", {})
    assert len(rebinding_dns) == 2  # checked once (public), resolved again to connect
    assert receiver.requests == []
    assert answer.status is None
    assert answer.error.startswith("error: refused: rebind.test connected to 127.0.0.1"), answer


def test_loopback_is_reached_when_private_addresses_are_allowed(settings, receiver):
    assert settings.PARLEY_INTEGRATIONS["WEBHOOK_ALLOW_PRIVATE"] is True
    connections.reset()
    answer = delivery.http_post(receiver.url, "{}", {})
    assert answer.status == 200 and len(receiver.requests) == 1
