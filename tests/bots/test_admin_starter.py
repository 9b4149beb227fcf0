"""Admin's add page starts a new flow from a minimal valid flow, explained by its help
text, and saving it unchanged (and publishing it) works."""

from __future__ import annotations

import json

import pytest

from bots.models import Flow
from bots.services import flow_validate
from tests.chat.admin_page import form_data, textarea

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_the_add_page_offers_a_starter_flow_that_saves_and_publishes(admin):
    page = admin.get("/admin/bots/flow/add/").content.decode()
    draft = json.loads(textarea(page, "id_draft")["text"])
    types = sorted(node["type"] for node in draft["nodes"].values())
    assert types == ["choice", "end", "handoff", "message"]
    [choice] = [n for n in draft["nodes"].values() if n["type"] == "choice"]
    assert len(choice["buttons"]) == 2
    assert flow_validate(graph=draft) == []
    assert "docs/architecture.md" in page and "Node types" in page

    data = form_data(page)
    data.update(name=["Welcome"], slug=["welcome"], _publish=["1"])
    response = admin.post("/admin/bots/flow/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    flow = Flow.objects.get(slug="welcome")
    assert flow.draft == draft
    assert flow.versions.count() == 1
