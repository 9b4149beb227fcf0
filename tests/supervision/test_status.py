"""The public status page, incidents from admin, and the widget's notice."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from chat.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat
from supervision import status
from supervision.models import Incident
from supervision.signals import BEAT_HEARTBEAT_KEY, beat_heartbeat_write
from tests.chat.test_consumers import widget
from tests.factories import make_customer, make_site

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def beats():
    worker_heartbeat()
    beat_heartbeat_write()
    yield
    cache.delete_many([WORKER_HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY])


def incident(**kw) -> Incident:
    kw.setdefault("title", "Slow replies")
    kw.setdefault("started_at", timezone.now() - dt.timedelta(minutes=5))
    return Incident.objects.create(**kw)


@pytest.mark.redis  # the status page runs the Redis check
def test_all_up_then_a_stale_worker_degrades_processing_only(client, beats):
    site = make_site(name="Shop")
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert page["state"] == "up" and page["incidents"] == []
    assert {n: c["state"] for n, c in page["components"].items()} == {
        "chat": "up", "routing": "up", "processing": "up"
    }  # fmt: skip
    cache.delete(WORKER_HEARTBEAT_KEY)
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert page["components"]["processing"]["state"] == "down"
    assert page["components"]["chat"]["state"] == "up"
    # Customers still chat: the page says degraded, as /healthz does, not down.
    assert page["state"] == "degraded"
    html = client.get(f"/status/{site.key}/").content.decode()
    assert "Shop: service status" in html and "Translation and moderation" in html


@pytest.mark.redis  # the status page runs the Redis check
def test_incidents_show_for_their_site_and_globally(client, beats):
    shop, other = make_site(name="Shop"), make_site(name="Other")
    incident(site=shop, impact="down", components=["chat"], message="Chat is down.")
    incident(impact="degraded", title="Everyone", components=[])
    incident(site=shop, title="Old", resolved_at=timezone.now())
    page = client.get(f"/status/{shop.key}/", {"format": "json"}).json()
    assert sorted(i["title"] for i in page["incidents"]) == ["Everyone", "Slow replies"]
    assert page["components"]["chat"]["state"] == "down"
    assert page["components"]["routing"]["state"] == "degraded"  # the global one
    other_page = client.get(f"/status/{other.key}/", {"format": "json"}).json()
    assert [i["title"] for i in other_page["incidents"]] == ["Everyone"]
    assert other_page["state"] == "degraded"
    assert client.get("/status/nope/").status_code == 404


async def test_the_widget_hears_of_an_open_incident_in_hello_and_rest(client):
    def setup():
        site = make_site()
        incident(site=site, impact="degraded", message="Replies are slow today.")
        return make_customer(site=site)

    customer = await database_sync_to_async(setup)()
    comm, hello = await widget(customer)
    assert hello["service"] == {"state": "degraded", "message": "Replies are slow today."}
    await comm.disconnect()

    def rest():
        return client.post(
            "/api/v1/widget/sessions/",
            {"site_key": customer.site.key},
            content_type="application/json",
        ).json()

    body = await database_sync_to_async(rest)()
    assert body["service"]["state"] == "degraded"


def test_no_incident_no_notice(client):
    site = make_site()
    body = client.post(
        "/api/v1/widget/sessions/", {"site_key": site.key}, content_type="application/json"
    ).json()
    assert body["service"] == {"state": "up", "message": ""}


def test_incidents_are_entered_and_resolved_in_admin(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "p"))
    add = client.get("/admin/supervision/incident/add/")
    assert add.status_code == 200
    created = incident()
    response = client.post(
        "/admin/supervision/incident/",
        {"action": "resolve", "_selected_action": [created.pk]},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.resolved_at is not None and created.status == "resolved"


@pytest.mark.redis  # the status page runs the Redis check
def test_the_page_is_down_only_when_customers_cannot_chat(client, beats):
    site = make_site(name="Shop")
    cache.delete_many([WORKER_HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY])  # worker and beat dead
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert {n: c["state"] for n, c in page["components"].items()} == {
        "chat": "up", "routing": "down", "processing": "down"
    }  # fmt: skip
    assert page["state"] == "degraded"
    incident(site=site, impact="down", components=["chat"], message="Chat is down.")
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert page["state"] == "down"


@pytest.mark.parametrize(
    ("checks", "impacts", "overall"),
    [
        ({}, [], "up"),
        ({"worker": "down"}, [], "degraded"),
        ({"beat": "down", "worker": "down"}, [], "degraded"),
        ({"disk": "degraded", "worker": "degraded"}, [], "degraded"),
        ({"redis": "down"}, [], "down"),
        ({"database": "down", "worker": "down"}, [], "down"),
        ({"migrations": "degraded"}, [], "degraded"),
        ({}, [("down", ["processing", "routing"])], "degraded"),
        ({}, [("down", ["chat"])], "down"),
        ({}, [("down", [])], "down"),  # an incident naming no component: all of Parley
        ({}, [("degraded", [])], "degraded"),
    ],
)
def test_the_overall_state_follows_chat_and_caps_the_rest_at_degraded(checks, impacts, overall):
    names = ("database", "redis", "migrations", "beat", "worker", "disk")
    ran = {name: {"state": checks.get(name, "up")} for name in names}
    incidents = [Incident(title="t", impact=i, components=c) for i, c in impacts]
    assert status.overall_state(status.components_state(ran, incidents)) == overall
