"""A browser never meets a raw JSON error or a missing icon: bad report dates and an unknown
status page answer a readable page to a browser (Accept: text/html) and the same JSON as
before to an API client; /favicon.ico is served and the admin look links the icon."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def boss(client):
    client.force_login(get_user_model().objects.create_user("boss", password="p", is_staff=True))
    return client


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=2026-11-05&to=2026-11-01", "from is after to."),
        ("from=2026-13-01", "from and to are dates: YYYY-MM-DD."),
        ("group=nope", "group is queue, agent or day."),
    ],
)
def test_bad_report_parameters_are_a_page_for_a_browser(boss, query, says):
    response = boss.get(f"/supervision/reports/?{query}", headers={"Accept": BROWSER})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert f"This report cannot be shown: {says}" in text
    assert 'name="from"' in text and 'name="to"' in text  # the form to fix it
    # An API client (JSON, */*, or none) and a CSV download keep the JSON error.
    for accept in ("application/json", "*/*"):
        api = boss.get(f"/supervision/reports/?{query}", headers={"Accept": accept})
        assert api.status_code == 400 and api.json()["error"]["code"] == "invalid_field"
    csv = boss.get(f"/supervision/reports/?{query}&format=csv", headers={"Accept": BROWSER})
    assert csv.status_code == 400 and csv.json()["error"]["code"] == "invalid_field"


def test_an_unknown_status_page_is_a_page_for_a_browser(client):
    response = client.get("/status/nope/", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "There is no site “nope”" in response.content.decode()
    api = client.get("/status/nope/", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    asked = client.get("/status/nope/", {"format": "json"}, headers={"Accept": BROWSER})
    assert asked.status_code == 404 and asked.json()["error"]["code"] == "not_found"


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert finders.find("favicon.svg")


def test_the_admin_look_links_the_icon(boss):
    for url in ("/admin/", "/supervision/reports/"):
        text = boss.get(url).content.decode()
        assert 'rel="icon"' in text and "favicon.svg" in text, url
