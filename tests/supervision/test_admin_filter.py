"""The open-conversations page offers only the statuses it can list."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from chat.models import Conversation
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

URL = "/admin/routing/routedconversation/"


def test_status_filter_offers_open_statuses_and_each_matches(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "p"))
    customer = make_customer()
    queued = Conversation.objects.create(site=customer.site, customer=customer, status="queued")
    Conversation.objects.create(site=customer.site, customer=customer, status="resolved")
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "?status=queued" in html and "?status=assigned" in html
    assert "?status=resolved" not in html and "?status=abandoned" not in html
    filtered = client.get(URL, {"status": "queued"})
    assert list(filtered.context["cl"].result_list) == [Conversation.objects.get(pk=queued.pk)]
    assert list(client.get(URL, {"status": "assigned"}).context["cl"].result_list) == []


def test_the_admin_index_links_the_supervisors_pages(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "p"))
    html = client.get("/admin/").content.decode()
    assert 'id="supervision-links"' in html
    assert 'href="/supervision/"' in html and 'href="/supervision/reports/"' in html
    assert "Agent presence" in html  # the usual app list is still there
