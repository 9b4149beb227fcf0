"""The supervisors' pages say things in words: the status page's incident start is a human
time (the ISO value kept in <time datetime>), the floor's breadcrumb ends at Floor, the admin
index has one Supervision section, and the reports' wide tables scroll in their box."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest
from django.contrib.auth import get_user_model

from supervision.models import Incident
from tests.factories import make_site

pytestmark = pytest.mark.django_db

SEP = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"  # admin's breadcrumb separator


def root():
    return get_user_model().objects.create_superuser("root", "root@example.com", "p")


@pytest.mark.redis  # the status page runs the Redis check
def test_the_status_page_says_when_an_incident_started_in_words(client):
    site = make_site(name="Shop")
    started = dt.datetime(2026, 12, 6, 12, 28, 53, tzinfo=dt.UTC)
    Incident.objects.create(site=site, title="Slow", impact="degraded", started_at=started)
    html = client.get(f"/status/{site.key}/").content.decode()
    assert html.count("2026-12-06T12:28:53") == 1  # only in the attribute
    assert re.search(
        r'Investigating since <time datetime="2026-12-06T12:28:53\+00:00" data-local>'
        r"6 Dec 2026, 12:28 UTC</time>",
        html,
    ), html
    assert "/static/status/localtime" in html  # shown again in the reader's own zone
    # The JSON keeps the ISO value and the code.
    page = client.get(f"/status/{site.key}/", {"format": "json"}).json()
    assert page["incidents"][0]["started_at"] == "2026-12-06T12:28:53+00:00"
    assert page["incidents"][0]["status"] == "investigating"


def test_the_floor_breadcrumb_ends_at_floor(client):
    client.force_login(root())
    html = client.get("/supervision/").content.decode()
    crumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S).group(1)
    assert htmllib.unescape(re.sub(r"<[^>]+>", "", crumbs)).split() == ["Home", SEP, "Floor"]
    assert 'href="/supervision/reports/"' in html  # still one click away, in the page


def test_the_admin_index_has_one_supervision_section(client):
    client.force_login(root())
    html = client.get("/admin/").content.decode()
    captions = re.findall(r"<caption>(.*?)</caption>", html, re.S)
    names = [re.sub(r"<[^>]+>", "", c).strip() for c in captions]
    assert names.count("Supervision") == 1, names
    section = re.search(r'<div id="supervision-links".*?</table>', html, re.S).group(0)
    for href in ("/supervision/", "/supervision/reports/", "/admin/supervision/incident/"):
        assert f'href="{href}"' in section
    assert "Agent presence" in html  # the rest of the app list is still there


def test_the_reports_tables_scroll_inside_their_box(client):
    client.force_login(root())
    html = client.get("/supervision/reports/").content.decode()
    assert re.search(r'<div class="report-scroll">\s*<table id="report">', html)
    assert re.search(r'<div class="report-scroll">\s*<table id="variants">', html)
    assert ".report-scroll { overflow-x: auto" in html
    assert "<th>Conversion rate</th>" in html and "conversion_rate" not in html
    crumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S).group(1)
    assert htmllib.unescape(re.sub(r"<[^>]+>", "", crumbs)).split() == [
        "Home",
        SEP,
        "Floor",
        SEP,
        "Reports",
    ]
