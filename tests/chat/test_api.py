from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def visitor(site=None, **extra):
    site = site or make_site()
    client = APIClient()
    response = client.post(
        "/api/v1/widget/sessions/", {"site_key": site.key, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Visitor {response.json()['token']}")
    return client, response.json()


def test_widget_session_and_resume_with_token():
    site = make_site()
    _client, body = visitor(site, name="Zoé", locale="fr")
    assert body["customer"]["name"] == "Zoé" and body["websocket_path"] == "/ws/widget/"
    again = APIClient().post(
        "/api/v1/widget/sessions/", {"site_key": site.key, "token": body["token"]}, format="json"
    )
    assert again.json()["customer"]["id"] == body["customer"]["id"]


@pytest.mark.parametrize(
    "payload,status,code",
    [
        ({}, 400, "invalid_field"),
        ({"site_key": "nope"}, 404, "site_not_found"),
        ({"site_key": None}, 400, "invalid_field"),
        ({"site_key": "x", "email": "not-an-email"}, 400, "invalid_field"),
    ],
)
def test_widget_session_errors(payload, status, code):
    response = APIClient().post("/api/v1/widget/sessions/", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_widget_session_origin_and_cors():
    site = make_site(allowed_origins=["https://shop.example"])
    client = APIClient()
    ok = client.post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key},
        format="json",
        HTTP_ORIGIN="https://shop.example",
    )
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Credentials" not in ok
    bad = client.post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key},
        format="json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "origin_not_allowed"
    preflight = client.options(
        "/api/v1/widget/sessions/",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    # An integrator's browser code uses every documented method and header with its key.
    assert "Idempotency-Key" in preflight["Access-Control-Allow-Headers"]
    assert {"PATCH", "DELETE"} <= set(preflight["Access-Control-Allow-Methods"].split(", "))
    assert "Access-Control-Allow-Credentials" not in preflight  # never cookies


def test_bad_json_body_is_a_clear_400():
    response = APIClient().post(
        "/api/v1/widget/sessions/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_customer_flow_over_rest_with_idempotent_send():
    client, _ = visitor()
    started = client.post("/api/v1/conversations/", {"language": "fr"}, format="json")
    assert started.status_code == 201
    conversation = started.json()
    assert client.post("/api/v1/conversations/", {}, format="json").status_code == 200  # same one

    first = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages/",
        {"client_msg_id": "r-1", "body": "Bonjour"},
        format="json",
    )
    assert first.status_code == 201 and first.json()["duplicate"] is False
    retry = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages/",
        {"client_msg_id": "r-1", "body": "Bonjour"},
        format="json",
    )
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert retry.json()["message"]["seq"] == first.json()["message"]["seq"]

    listing = client.get("/api/v1/conversations/").json()["results"]
    assert [c["id"] for c in listing] == [conversation["id"]]
    detail = client.get(f"/api/v1/conversations/{conversation['id']}/").json()
    assert detail["last_seq"] == first.json()["message"]["seq"]


def test_messages_after_seq_and_limits():
    client, _ = visitor()
    conversation = client.post("/api/v1/conversations/", {}, format="json").json()
    url = f"/api/v1/conversations/{conversation['id']}/messages/"
    for i in range(5):
        client.post(url, {"client_msg_id": f"m{i}", "body": f"m{i}"}, format="json")
    page = client.get(url, {"after_seq": 0, "limit": 2}).json()
    assert [m["body"] for m in page["messages"]] == ["m0", "m1"] and page["has_more"]
    rest = client.get(url, {"after_seq": page["messages"][-1]["seq"]}).json()
    assert [m["body"] for m in rest["messages"]] == ["m2", "m3", "m4"] and not rest["has_more"]
    for params in ({"after_seq": "x"}, {"after_seq": -1}, {"limit": 1000}):
        bad = client.get(url, params)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_field"


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"body": "hi"}, "client_msg_id"),
        ({"client_msg_id": "a"}, "body"),
        ({"client_msg_id": "a", "body": ["list"]}, "body"),
        ({"client_msg_id": "a", "body": "x" * 4001}, "body"),
        ({"client_msg_id": "bad id", "body": "hi"}, "client_msg_id"),
    ],
)
def test_send_validation(payload, field):
    client, _ = visitor()
    conversation = client.post("/api/v1/conversations/", {}, format="json").json()
    response = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages/", payload, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_unauthorised_access():
    owner, _ = visitor()
    conversation = owner.post("/api/v1/conversations/", {}, format="json").json()
    anonymous = APIClient()
    assert anonymous.get("/api/v1/conversations/").status_code in (401, 403)
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Visitor forged")
    response = forged.get("/api/v1/conversations/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
    intruder, _ = visitor()
    for method, path in [
        ("get", f"/api/v1/conversations/{conversation['id']}/"),
        ("get", f"/api/v1/conversations/{conversation['id']}/messages/"),
        ("post", f"/api/v1/conversations/{conversation['id']}/resolve/"),
    ]:
        assert getattr(intruder, method)(path).status_code == 404
    denied = intruder.get(f"/api/v1/conversations/{conversation['id']}/events/")
    assert denied.status_code == 403


def test_agent_session_and_non_agent(django_user_model):
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agent = make_agent()
    client = APIClient()
    client.force_login(agent)
    assert [c["id"] for c in client.get("/api/v1/conversations/").json()["results"]] == [
        conversation.pk
    ]
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    events = client.get(f"/api/v1/conversations/{conversation.pk}/events/").json()
    assert "routing.decision" in [e["type"] for e in events]
    resolved = client.post(f"/api/v1/conversations/{conversation.pk}/resolve/")
    assert resolved.json()["status"] == "resolved"
    plain = django_user_model.objects.create_user("plain", password="pw")
    client.force_login(plain)
    assert client.get("/api/v1/conversations/").status_code == 403


def test_system_message_with_api_key():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    _, raw = services.api_key_create(name="orders")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/conversations/{conversation.pk}/system-messages/"
    created = client.post(
        url, {"body": "Order shipped", "client_msg_id": "o-1", "data": {"order": 1}}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["message"]["kind"] == "system"
    assert (
        client.post(
            url, {"body": "Order shipped", "client_msg_id": "o-1"}, format="json"
        ).status_code
        == 200
    )
    assert client.post(url, {"body": "x", "data": "nope"}, format="json").status_code == 400
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer pk_wrong")
    assert bad.post(url, {"body": "x"}, format="json").status_code == 401
    # A visitor cannot post system messages.
    visitor_client = APIClient()
    token = services.visitor_token_issue(customer=customer)
    visitor_client.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    assert visitor_client.post(url, {"body": "x"}, format="json").status_code == 403


def test_openapi_schema_builds_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/widget/sessions/", "/api/v1/conversations/{conversation_id}/messages/"):
        assert path in text


def test_schema_and_docs_pages_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_schema_format_parameter_picks_json_or_yaml(client):
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert as_json.json()["openapi"].startswith("3.")
    as_yaml = client.get("/api/schema/?format=yaml")
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_yaml.content.startswith(b"openapi:")
    # No parameter, or one it does not know: the Accept header decides, YAML by default.
    assert client.get("/api/schema/?format=xml").content.startswith(b"openapi:")
    by_accept = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert by_accept.json()["openapi"].startswith("3.")


@pytest.mark.redis  # the Redis check pings a real server
def test_healthz(client):
    # No worker runs here: degraded (200), not down; tests/supervision covers the rest.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content in (b"up\n", b"degraded\n")
