"""Admin: JSON editing with validation messages, the diagram, publishing, variant counts."""

from __future__ import annotations

import json

import pytest

from bots.models import Flow, VariantStat

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def form(flow: Flow, graph, **extra) -> dict:
    return {
        "name": flow.name,
        "slug": flow.slug,
        "description": flow.description,
        "goal": flow.goal,
        "draft": graph if isinstance(graph, str) else json.dumps(graph),
        **extra,
    }


def test_the_change_page_shows_the_diagram_and_the_variant_counts(admin, demo_flow):
    VariantStat.objects.create(flow=demo_flow, node="greet", variant="brief", shown=8, converted=2)
    page = admin.get(f"/admin/bots/flow/{demo_flow.pk}/change/").content.decode()
    assert "<svg" in page and "ask_email" in page and "Orders" in page
    assert "Save and publish" in page
    assert "25.0%" in page  # the brief greeting's conversion rate
    assert "v1" in page


def test_an_invalid_draft_is_refused_with_one_message_per_problem(admin, demo_flow):
    graph = json.loads(json.dumps(demo_flow.draft))
    graph["nodes"]["greet"]["next"] = "ghost"
    graph["nodes"]["ask_email"]["validator"] = {"type": "postcode"}
    response = admin.post(f"/admin/bots/flow/{demo_flow.pk}/change/", form(demo_flow, graph))
    page = response.content.decode()
    assert response.status_code == 200
    assert "nodes.greet.next: points to &#x27;ghost&#x27;" in page
    assert "nodes.ask_email.validator.type: must be one of" in page
    demo_flow.refresh_from_db()
    assert demo_flow.draft["nodes"]["greet"]["next"] == "topic"


def test_malformed_json_is_refused(admin, demo_flow):
    response = admin.post(f"/admin/bots/flow/{demo_flow.pk}/change/", form(demo_flow, "{oops"))
    assert response.status_code == 200
    assert "Enter a valid JSON" in response.content.decode()


def test_save_and_publish_creates_a_version(admin, demo_flow):
    graph = json.loads(json.dumps(demo_flow.draft))
    graph["nodes"]["greet"]["text"]["en"] = "Welcome to DIY Market!"
    response = admin.post(
        f"/admin/bots/flow/{demo_flow.pk}/change/", form(demo_flow, graph, _publish="1")
    )
    assert response.status_code == 302
    demo_flow.refresh_from_db()
    assert demo_flow.published_version.number == 2
    assert demo_flow.published_version.graph["nodes"]["greet"]["text"]["en"].startswith("Welcome")
    # The same draft again: nothing to publish, and the message says so.
    again = admin.post(
        f"/admin/bots/flow/{demo_flow.pk}/change/", form(demo_flow, graph, _publish="1"),
        follow=True,
    )  # fmt: skip
    assert "the draft is version 2 as published; nothing changed" in again.content.decode()
    assert demo_flow.versions.count() == 2


def test_versions_and_sessions_are_read_only_pages(admin, demo_flow):
    version = demo_flow.published_version
    page = admin.get(f"/admin/bots/flowversion/{version.pk}/change/").content.decode()
    assert "<svg" in page
    assert admin.get("/admin/bots/flowversion/add/").status_code == 403
    assert admin.get("/admin/bots/variantstat/").status_code == 200
    assert admin.get("/admin/bots/botsession/").status_code == 200


def test_export_action_downloads_the_flow(admin, demo_flow):
    response = admin.post(
        "/admin/bots/flow/",
        {"action": "export_selected", "_selected_action": [demo_flow.pk]},
    )
    assert response["Content-Disposition"] == 'attachment; filename="diy-marketplace.flow.json"'
    assert json.loads(response.content)["graph"] == demo_flow.draft


def test_the_diagram_escapes_flow_text():
    from bots.diagram import flow_svg

    svg = flow_svg({"start": "a<b", "nodes": {"a<b": {"type": "end", "text": "<script>x"}}})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
