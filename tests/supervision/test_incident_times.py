"""Incidents show from their start: one entered ahead (*Started at* 2030-01-01) is not in the
widget's banner nor on the status page until then (the docs describe no advance notice).
Admin refuses components the status page does not know and an end before the start."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from supervision import status
from supervision.models import Incident
from tests.factories import make_site

pytestmark = pytest.mark.django_db

FUTURE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def incident(**kw) -> Incident:
    kw.setdefault("title", "Maintenance")
    kw.setdefault("message", "Chat will be down for maintenance.")
    kw.setdefault("impact", "down")
    kw.setdefault("started_at", FUTURE)
    return Incident.objects.create(**kw)


def test_a_future_incident_is_not_shown_until_it_starts():
    site = make_site(name="Shop")
    future = incident(site=site)
    assert status.open_incidents(site=site) == []
    assert status.widget_notice(site_id=site.pk) == {"state": "up", "message": ""}
    # From its start on, it is in force (and the widget's notice follows within its TTL).
    later = FUTURE + dt.timedelta(minutes=1)
    assert status.open_incidents(site=site, now=later) == [future]


def test_an_incident_with_an_end_to_come_shows_until_then():
    now = timezone.now()
    window = incident(
        started_at=now - dt.timedelta(minutes=5), resolved_at=now + dt.timedelta(hours=1)
    )
    assert status.open_incidents(site=None) == [window]
    assert status.open_incidents(site=None, now=now + dt.timedelta(hours=2)) == []
    status.notice_cache_clear()
    assert status.widget_notice(site_id=None)["state"] == "down"


@pytest.mark.redis  # the status page runs the Redis check
def test_the_status_page_leaves_a_future_incident_out(client):
    site = make_site(name="Shop")
    incident(site=site)
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert page["incidents"] == []
    assert page["state"] != "down"  # the future "down" incident weighs nothing yet


def _post(client, **fields):
    data = {
        "title": "Slow replies",
        "message": "",
        "impact": "degraded",
        "status": "investigating",
        "components": "[]",
        "started_at_0": "2026-12-01",
        "started_at_1": "10:00:00",
        "resolved_at_0": "",
        "resolved_at_1": "",
        **fields,
    }
    return client.post("/admin/supervision/incident/add/", data)


@pytest.fixture
def root(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "p"))
    return client


def test_admin_refuses_an_unknown_component(root):
    response = _post(root, components='["chat", "translation"]')
    assert response.status_code == 200  # the form again, with the error
    text = response.content.decode()
    assert "Unknown component(s): translation" in text
    assert "chat, routing, processing" in text
    assert not Incident.objects.exists()
    assert _post(root, components='["chat", "processing"]').status_code == 302
    assert Incident.objects.get().components == ["chat", "processing"]


def test_admin_refuses_a_resolution_before_the_start(root):
    response = _post(root, resolved_at_0="2026-11-30", resolved_at_1="09:00:00")
    assert response.status_code == 200
    assert "cannot be resolved before it started" in response.content.decode()
    assert not Incident.objects.exists()
    ok = _post(root, resolved_at_0="2026-12-01", resolved_at_1="11:00:00")
    assert ok.status_code == 302


def test_resolve_now_on_an_incident_not_started_ends_it_at_its_start(root):
    ahead = incident()
    response = root.post(
        "/admin/supervision/incident/", {"action": "resolve", "_selected_action": [ahead.pk]}
    )
    assert response.status_code == 302
    ahead.refresh_from_db()
    assert ahead.resolved_at == ahead.started_at == FUTURE
