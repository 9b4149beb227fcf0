"""A handoff must name a queue that exists and is active: saving, publishing and importing
refuse it (service, admin, REST) with the graph's error shape; published versions whose
queue went away since keep running (tests/bots/test_engine.py)."""

from __future__ import annotations

import copy
import json

import pytest
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from bots.graph_validation import validate_graph
from bots.models import Flow, FlowVersion
from bots.services import (
    FlowInvalid,
    flow_create,
    flow_draft_save,
    flow_import,
    flow_publish,
    flow_validate,
)
from routing.models import Queue

pytestmark = pytest.mark.django_db


def flow_graph(queue: str) -> dict:
    return {
        "start": "hi",
        "nodes": {
            "hi": {"type": "message", "text": "Hi", "next": "out"},
            "out": {"type": "handoff", "queue": queue, "text": "Passing you on."},
        },
    }


GOOD, TYPO = flow_graph("General"), flow_graph("Genral")
TYPO_ERROR = {
    "path": "nodes.out.queue",
    "message": "names no queue: 'Genral' (the queues are: General, Orders, Returns)",
}


@pytest.fixture(autouse=True)
def queues():
    for name in ("Returns", "General", "Orders"):
        Queue.objects.get_or_create(name=name)


def document(graph: dict, slug: str = "support") -> dict:
    return {"format": "parley.flow", "format_version": 1, "name": "Support", "slug": slug,
            "graph": graph}  # fmt: skip


# --- the service ---------------------------------------------------------------------------
def test_the_graph_validation_stays_pure(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert validate_graph(TYPO) == []


def test_validate_reports_a_queue_that_does_not_exist():
    assert flow_validate(graph=GOOD) == []
    assert flow_validate(graph=TYPO) == [TYPO_ERROR]


def test_create_save_and_import_refuse_it_and_write_nothing():
    with pytest.raises(FlowInvalid) as exc:
        flow_create(name="Support", graph=TYPO)
    assert exc.value.errors == [TYPO_ERROR]
    assert exc.value.message.startswith("The flow is invalid: nodes.out.queue: names no queue")
    with pytest.raises(FlowInvalid):
        flow_import(document=document(TYPO), publish=True)
    assert not Flow.objects.exists()
    flow = flow_create(name="Support", graph=GOOD)
    with pytest.raises(FlowInvalid) as exc:
        flow_draft_save(flow=flow, graph=TYPO)
    assert exc.value.errors == [TYPO_ERROR]
    flow.refresh_from_db()
    assert flow.draft == GOOD


def test_a_good_queue_saves_and_publishes():
    flow, created = flow_import(document=document(GOOD), publish=True)
    assert created and flow.published_version.graph == GOOD


def test_publishing_refuses_a_draft_whose_queue_was_deleted_since():
    flow = flow_create(name="Support", graph=flow_graph("Orders"))
    Queue.objects.filter(name="Orders").delete()
    with pytest.raises(FlowInvalid) as exc:
        flow_publish(flow=flow)
    assert exc.value.errors == [
        {
            "path": "nodes.out.queue",
            "message": "names no queue: 'Orders' (the queues are: General, Returns)",
        }
    ]
    assert not FlowVersion.objects.exists()


def test_an_inactive_queue_does_not_count_and_names_match_exactly():
    Queue.objects.filter(name="Orders").update(is_active=False)
    errors = flow_validate(graph=flow_graph("Orders"))
    assert errors[0]["message"] == "names no queue: 'Orders' (the queues are: General, Returns)"
    # Case matters, as in the engine's lookup; the near miss is listed first.
    errors = flow_validate(graph=flow_graph("returns"))
    assert errors[0]["message"] == "names no queue: 'returns' (the queues are: Returns, General)"


def test_every_bad_handoff_is_reported_with_at_most_ten_queue_names():
    for n in range(20):
        Queue.objects.create(name=f"Team {n:02}")
    graph = copy.deepcopy(TYPO)
    graph["nodes"]["hi"] = {
        "type": "choice",
        "text": "Which?",
        "buttons": [
            {"id": "a", "label": "A", "next": "out"},
            {"id": "b", "label": "B", "next": "other"},
        ],
    }
    graph["nodes"]["other"] = {"type": "handoff", "queue": "Nope"}
    errors = flow_validate(graph=graph)
    assert [e["path"] for e in errors] == ["nodes.out.queue", "nodes.other.queue"]
    message = errors[0]["message"]
    assert message.startswith("names no queue: 'Genral' (the queues are: General, ")
    assert message.endswith(", … (13 more))")
    assert message.count(", ") == 10  # ten names, then the count of the rest


def test_form_errors_and_queue_errors_are_reported_together():
    graph = copy.deepcopy(TYPO)
    graph["nodes"]["hi"]["next"] = "ghost"
    errors = flow_validate(graph=graph)
    assert {e["path"] for e in errors} == {"nodes.hi.next", "nodes.out.queue"}


# --- admin ---------------------------------------------------------------------------------
@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def admin_form(flow: Flow, graph: dict, **extra) -> dict:
    return {"name": flow.name, "slug": flow.slug, "description": "", "goal": flow.goal,
            "draft": json.dumps(graph), **extra}  # fmt: skip


def test_admin_refuses_to_save_or_publish_a_missing_queue(admin):
    flow = flow_create(name="Support", graph=GOOD)
    url = f"/admin/bots/flow/{flow.pk}/change/"
    response = admin.post(url, admin_form(flow, TYPO, _publish="1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "nodes.out.queue: names no queue: &#x27;Genral&#x27; (the queues are: General" in page
    flow.refresh_from_db()
    assert flow.draft == GOOD and flow.published_version is None
    response = admin.post(url, admin_form(flow, GOOD, _publish="1"))
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.published_version.number == 1


def test_admin_publish_action_says_which_queue_is_missing(admin):
    flow = flow_create(name="Support", graph=flow_graph("Orders"))
    Queue.objects.filter(name="Orders").delete()
    response = admin.post(
        "/admin/bots/flow/", {"action": "publish_selected", "_selected_action": [flow.pk]}
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == [
        "Support was not published: nodes.out.queue: names no queue: 'Orders' "
        "(the queues are: General, Returns)"
    ]
    assert not FlowVersion.objects.exists()


# --- REST ----------------------------------------------------------------------------------
@pytest.fixture
def api(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_rest_import_validate_and_publish_refuse_a_missing_queue(api):
    response = api.post("/api/v1/bots/flows/import/?publish=1", document(TYPO), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_flow"
    assert response.json()["error"]["errors"] == [TYPO_ERROR]
    assert not Flow.objects.exists()
    response = api.post("/api/v1/bots/flows/validate/", {"graph": TYPO}, format="json")
    assert response.json() == {"valid": False, "errors": [TYPO_ERROR]}
    response = api.post("/api/v1/bots/flows/import/", document(GOOD), format="json")
    assert response.status_code == 201
    Queue.objects.filter(name="General").delete()
    response = api.post("/api/v1/bots/flows/support/publish/")
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["path"] == "nodes.out.queue"
    Queue.objects.create(name="General")
    assert api.post("/api/v1/bots/flows/support/publish/").json()["version"] == 1
