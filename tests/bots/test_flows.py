"""Flows: publishing versions, export and import (service, management commands, REST)."""

from __future__ import annotations

import copy
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from bots.models import Flow, FlowVersion
from bots.services import (
    FlowInvalid,
    flow_create,
    flow_draft_save,
    flow_export,
    flow_import,
    flow_publish,
)
from chat.exceptions import NotFound, ValidationError
from chat.services import api_key_create, visitor_token_issue
from routing.models import Queue
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db

SMALL = {
    "start": "a",
    "nodes": {
        "a": {"type": "message", "text": {"en": "Hi", "fr": "Salut"}, "next": "b"},
        "b": {"type": "handoff", "queue": "General"},
    },
}
BROKEN = {"start": "a", "nodes": {"a": {"type": "message", "text": "Hi", "next": "ghost"}}}


@pytest.fixture(autouse=True)
def general_queue():
    """SMALL hands off to General: a flow saves only when its queues exist."""
    Queue.objects.get_or_create(name="General")


def test_create_refuses_an_invalid_graph_with_every_error():
    with pytest.raises(FlowInvalid) as exc:
        flow_create(name="Broken", graph=BROKEN)
    assert exc.value.code == "invalid_flow"
    assert exc.value.errors[0]["path"] == "nodes.a.next"
    assert not Flow.objects.exists()


def test_publishing_creates_numbered_immutable_versions():
    flow = flow_create(name="Support", graph=SMALL)
    assert flow.slug == "support" and flow.published_version is None
    v1 = flow_publish(flow=flow, published_by="ana")
    edited = copy.deepcopy(SMALL)
    edited["nodes"]["a"]["text"]["en"] = "Hello"
    flow_draft_save(flow=flow, graph=edited)
    v1.refresh_from_db()
    assert v1.graph == SMALL  # editing the draft leaves published versions alone
    v2 = flow_publish(flow=flow)
    flow.refresh_from_db()
    assert (v1.number, v2.number, flow.published_version_id) == (1, 2, v2.pk)
    assert v2.graph["nodes"]["a"]["text"]["en"] == "Hello"
    # Nothing changed since: publishing again keeps version 2 (no version 3).
    assert flow_publish(flow=flow).pk == v2.pk
    assert flow.versions.count() == 2


def test_saving_an_invalid_draft_is_refused_and_keeps_the_old_one():
    flow = flow_create(name="Support", graph=SMALL)
    with pytest.raises(FlowInvalid):
        flow_draft_save(flow=flow, graph=BROKEN)
    flow.refresh_from_db()
    assert flow.draft == SMALL


def test_export_import_round_trip_through_the_service(demo_flow):
    document = flow_export(flow=demo_flow)
    assert document["format"] == "parley.flow" and document["published_version"] == 1
    copied = {**json.loads(json.dumps(document)), "slug": "diy-copy", "name": "Copy"}
    flow, created = flow_import(document=copied, publish=True)
    assert created and flow.published_version.number == 1
    assert flow.draft == demo_flow.draft
    assert flow.goal == demo_flow.goal
    again = flow_export(flow=flow)
    assert {**again, "slug": "diy-marketplace", "name": demo_flow.name} == document


def test_import_of_an_existing_slug_replaces_the_draft_only():
    flow = flow_create(name="Support", graph=SMALL)
    flow_publish(flow=flow)
    edited = copy.deepcopy(SMALL)
    edited["nodes"]["a"]["text"] = "Imported"
    document = {**flow_export(flow=flow), "graph": edited}
    updated, created = flow_import(document=document)
    assert not created and updated.pk == flow.pk
    assert updated.draft["nodes"]["a"]["text"] == "Imported"
    assert updated.published_version.graph == SMALL


def test_export_of_a_given_version():
    flow = flow_create(name="Support", graph=SMALL)
    flow_publish(flow=flow)
    edited = copy.deepcopy(SMALL)
    edited["nodes"]["a"]["text"] = "v2"
    flow_draft_save(flow=flow, graph=edited)
    assert flow_export(flow=flow, version=1)["graph"] == SMALL
    assert flow_export(flow=flow)["graph"] == edited
    with pytest.raises(NotFound):
        flow_export(flow=flow, version=9)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "other"}, "format"),
        ({"format_version": 2}, "format_version"),
        ({"name": ""}, "name"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"goal": "world_peace"}, "goal"),
    ],
)
def test_import_checks_the_document(change, field):
    document = {"format": "parley.flow", "format_version": 1, "name": "X", "graph": SMALL}
    with pytest.raises(ValidationError) as exc:
        flow_import(document={**document, **change})
    assert exc.value.field == field


def test_import_of_an_invalid_graph_writes_nothing():
    document = {"format": "parley.flow", "format_version": 1, "name": "X", "graph": BROKEN}
    with pytest.raises(FlowInvalid):
        flow_import(document=document, publish=True)
    assert not Flow.objects.exists()


# --- management commands ----------------------------------------------------------------------
def test_commands_round_trip(tmp_path, demo_flow, capsys):
    path = tmp_path / "flow.json"
    call_command("flow_export", "diy-marketplace", "-o", str(path))
    document = json.loads(path.read_text())
    assert document["graph"] == demo_flow.draft
    document["slug"], document["name"] = "diy-imported", "Imported"
    path.write_text(json.dumps(document))
    site = make_site()
    call_command("flow_import", str(path), "--publish", "--site", site.key)
    assert site.key[0].isalnum()  # a generated key never reads as an option
    site.refresh_from_db()
    imported = Flow.objects.get(slug="diy-imported")
    assert site.default_flow == imported
    assert imported.published_version.graph == demo_flow.draft
    assert "Created diy-imported, published as v1" in capsys.readouterr().out
    call_command("flow_export", "diy-imported", "--flow-version", "1")
    assert json.loads(capsys.readouterr().out)["exported_version"] == 1


def test_commands_report_errors_clearly(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "parley.flow", "format_version": 1, "name": "B",
                               "graph": BROKEN}))  # fmt: skip
    with pytest.raises(CommandError, match=r"nodes\.a\.next: points to 'ghost'"):
        call_command("flow_import", str(bad))
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("flow_import", str(bad))
    with pytest.raises(CommandError, match="No flow"):
        call_command("flow_export", "missing")
    with pytest.raises(CommandError, match="No site"):
        call_command("flow_import", str(bad), "--site", "nope")


# --- REST ---------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_rest_export_import_publish_round_trip(admin_client, demo_flow):
    response = admin_client.get("/api/v1/bots/flows/diy-marketplace/export/")
    assert response.status_code == 200
    assert "diy-marketplace.flow.json" in response["Content-Disposition"]
    document = response.json()
    document["slug"] = "via-api"
    response = admin_client.post("/api/v1/bots/flows/import/?publish=1", document, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] and body["flow"]["published_version"] == 1
    assert body["flow"]["draft"] == demo_flow.draft
    response = admin_client.post("/api/v1/bots/flows/via-api/publish/")
    # The draft is what version 1 holds: a second publish (a retry, a double click)
    # publishes nothing, and says so.
    assert response.json() == {"flow": "via-api", "version": 1, "changed": False}
    flow = Flow.objects.get(slug="via-api")
    graph = copy.deepcopy(flow.draft)
    graph["nodes"][graph["start"]]["text"] = {"en": "Hello again!"}
    flow_draft_save(flow=flow, graph=graph)
    response = admin_client.post("/api/v1/bots/flows/via-api/publish/")
    assert response.json() == {"flow": "via-api", "version": 2, "changed": True}
    listed = admin_client.get("/api/v1/bots/flows/").json()["results"]
    assert {f["slug"] for f in listed} == {"diy-marketplace", "via-api"}
    detail = admin_client.get("/api/v1/bots/flows/via-api/").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    assert FlowVersion.objects.filter(flow__slug="via-api").count() == 2


def test_rest_import_of_an_invalid_flow_lists_every_error(admin_client):
    document = {"format": "parley.flow", "format_version": 1, "name": "B", "graph": BROKEN}
    response = admin_client.post("/api/v1/bots/flows/import/", document, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_flow"
    assert error["errors"] == [
        {
            "path": "nodes.a.next",
            "message": "points to 'ghost', which is not a node (dangling edge).",
        }
    ]


def test_rest_validate_and_bad_input(admin_client):
    ok = admin_client.post("/api/v1/bots/flows/validate/", {"graph": SMALL}, format="json")
    assert ok.json() == {"valid": True, "errors": []}
    bad = admin_client.post("/api/v1/bots/flows/validate/", {"graph": BROKEN}, format="json")
    assert bad.json()["valid"] is False
    missing = admin_client.post("/api/v1/bots/flows/validate/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "graph"
    assert admin_client.get("/api/v1/bots/flows/nope/").status_code == 404
    flow_create(name="S", graph=SMALL)
    assert admin_client.get("/api/v1/bots/flows/s/export/?version=x").status_code == 400
    assert admin_client.get("/api/v1/bots/flows/s/export/?version=3").status_code == 404


def test_rest_permissions(demo_flow):
    url = "/api/v1/bots/flows/"
    client = APIClient()
    assert client.get(url).status_code in (401, 403)
    # An agent without the bots permissions.
    agent = make_agent()
    client.force_authenticate(agent)
    assert client.get(url).status_code == 403
    agent.user_permissions.add(Permission.objects.get(codename="view_flow"))
    agent = type(agent).objects.get(pk=agent.pk)  # drop the permission cache
    client.force_authenticate(agent)
    assert client.get(url).status_code == 200
    assert client.post(f"{url}diy-marketplace/publish/").status_code == 403
    # API keys: one for all sites may manage flows, one limited to a site may not.
    _, raw = api_key_create(name="ci")
    keyed = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert keyed.post(f"{url}diy-marketplace/publish/").status_code == 200
    _, raw = api_key_create(name="shop", site=make_site())
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get(url).status_code == 403
    # Customers never.
    token = visitor_token_issue(customer=make_customer())
    assert APIClient(HTTP_AUTHORIZATION=f"Visitor {token}").get(url).status_code == 403
