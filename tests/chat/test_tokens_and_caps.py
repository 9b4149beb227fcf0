"""Visitor tokens are revoked by a refresh (after a short grace), and each principal has a
cap on open sockets, refused with 4409: through the REST endpoint and the real ASGI app."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from chat import services
from chat.exceptions import AuthenticationFailed
from chat.models import Customer
from chat.selectors import customer_get_from_token
from config.asgi import application
from tests.factories import make_agent, make_customer, make_site, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


def refresh(client: Client, site_key: str, token: str | None = None) -> dict:
    body = {"site_key": site_key, **({"token": token} if token else {})}
    response = client.post("/api/v1/widget/sessions/", body, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def age_rotation(customer_id: int, seconds: int) -> None:
    Customer.objects.filter(pk=customer_id).update(
        token_rotated_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def test_a_refresh_revokes_the_previous_token_after_the_grace(settings):
    settings.PARLEY = {**settings.PARLEY, "VISITOR_TOKEN_GRACE": 30}
    site = make_site()
    client = Client()
    first = refresh(client, site.key)
    second = refresh(client, site.key, first["token"])
    assert second["customer"]["id"] == first["customer"]["id"]
    customer_get_from_token(token=second["token"])
    customer_get_from_token(token=first["token"])  # a tab that raced the refresh
    age_rotation(first["customer"]["id"], 31)
    with pytest.raises(AuthenticationFailed) as exc:
        customer_get_from_token(token=first["token"])
    assert exc.value.code == "token_revoked"
    # REST refuses it too, with the same code; the new token works.
    api = client.get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Visitor {first['token']}")
    assert api.status_code == 401 and api.json()["error"]["code"] == "token_revoked"
    ok = client.get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Visitor {second['token']}")
    assert ok.status_code == 200
    # Two refreshes later, the first token is two generations old: refused even in grace.
    third = refresh(client, site.key, second["token"])
    with pytest.raises(AuthenticationFailed):
        customer_get_from_token(token=first["token"])
    customer_get_from_token(token=third["token"])


def test_a_revoked_token_starts_a_stranger_not_the_old_visitor(settings):
    site = make_site()
    client = Client()
    first = refresh(client, site.key)
    second = refresh(client, site.key, first["token"])
    age_rotation(first["customer"]["id"], 3600)
    stolen = refresh(client, site.key, first["token"])
    assert stolen["customer"]["id"] != first["customer"]["id"]
    customer_get_from_token(token=second["token"])  # the real visitor is unaffected


def test_tokens_issued_before_generations_keep_working_until_the_first_refresh():
    from django.core import signing

    from chat.selectors import VISITOR_TOKEN_SALT

    customer = make_customer()
    legacy = signing.dumps({"c": customer.pk, "s": customer.site_id}, salt=VISITOR_TOKEN_SALT)
    assert customer_get_from_token(token=legacy).pk == customer.pk
    bad = signing.dumps(
        {"c": customer.pk, "s": customer.site_id, "g": "0"}, salt=VISITOR_TOKEN_SALT
    )
    with pytest.raises(AuthenticationFailed):
        customer_get_from_token(token=bad)


async def test_a_revoked_token_cannot_open_a_socket(settings):
    site = await database_sync_to_async(make_site)()
    client = Client()
    first = await database_sync_to_async(refresh)(client, site.key)
    await database_sync_to_async(refresh)(client, site.key, first["token"])
    await database_sync_to_async(age_rotation)(first["customer"]["id"], 3600)
    comm = WebsocketCommunicator(application, f"/ws/widget/?token={first['token']}")
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected  # accepted, then told why and closed
    frame = await comm.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "error" and frame["code"] == "token_revoked"
    assert (await comm.receive_output(timeout=TIMEOUT))["code"] == 4401


# --- the cap on open sockets ------------------------------------------------------------------
async def open_socket(path: str, headers=()) -> tuple[WebsocketCommunicator, dict]:
    comm = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return comm, await comm.receive_json_from(timeout=TIMEOUT)


async def assert_refused_4409(path: str, headers=()) -> None:
    comm, frame = await open_socket(path, headers)
    assert frame["type"] == "error" and frame["code"] == "too_many_sockets", frame
    assert (await comm.receive_output(timeout=TIMEOUT))["code"] == 4409


async def test_a_visitor_may_hold_only_so_many_sockets(settings):
    settings.PARLEY = {**settings.PARLEY, "WS_MAX_SOCKETS_PER_VISITOR": 2}
    customer = await database_sync_to_async(make_customer)()
    other = await database_sync_to_async(make_customer)()
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    path = f"/ws/widget/?token={token}"
    a, hello_a = await open_socket(path)
    b, hello_b = await open_socket(path)
    assert hello_a["type"] == hello_b["type"] == "hello"
    await assert_refused_4409(path)
    # Another visitor is not affected.
    other_token = await database_sync_to_async(services.visitor_token_issue)(customer=other)
    c, hello_c = await open_socket(f"/ws/widget/?token={other_token}")
    assert hello_c["type"] == "hello"
    # A closed socket gives its place back.
    await a.disconnect()
    d, hello_d = await open_socket(path)
    assert hello_d["type"] == "hello"
    # The sockets that were let in still work.
    await b.send_json_to({"type": "ping", "id": "p1"})
    assert (await b.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    for comm in (b, c, d):
        await comm.disconnect()


async def test_an_agent_may_hold_only_so_many_console_sockets(settings):
    settings.PARLEY = {**settings.PARLEY, "WS_MAX_SOCKETS_PER_AGENT": 1}
    agent = await database_sync_to_async(make_agent)()
    sid = await database_sync_to_async(session_cookie)(agent)
    headers = [(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")]
    first, hello = await open_socket("/ws/agent/", headers)
    assert hello["type"] == "hello" and hello["role"] == "agent"
    await assert_refused_4409("/ws/agent/", headers)
    await first.disconnect()
    again, hello = await open_socket("/ws/agent/", headers)
    assert hello["type"] == "hello"
    await again.disconnect()


def test_a_site_key_never_starts_like_a_command_line_option():
    from chat.models import _site_key

    # urlsafe base64 starts with "-" once in 64 draws: 2,000 draws would meet it.
    assert all(_site_key()[0].isalnum() for _ in range(2000))
