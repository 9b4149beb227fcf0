"""Admin's Site help texts name real settings; conversations are records: a supervisor
cannot delete them (no "Delete selected"), a superuser still can."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from chat.models import Conversation, Site
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

README = Path("README.md").read_text(encoding="utf-8")


def test_help_texts_name_the_settings_of_the_readme(admin_client):
    site = Site.objects.create(name="Shop")
    page = admin_client.get(f"/admin/chat/site/{site.pk}/change/").content.decode()
    helps = " ".join(re.findall(r'<div class="help"[^>]*>(.*?)</div>\s*</div>', page, re.S))
    assert "LANGUAGE_DETECTION_MIN_LENGTH" in helps
    named = set(re.findall(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b", helps))
    assert named and {name for name in named if f"`{name}`" not in README} == set()


def test_supervisors_get_no_delete_action_for_conversations(
    client, admin_client, django_user_model
):
    supervisor = django_user_model.objects.create_user("sup", "s@example.com", "pw", is_staff=True)
    supervisor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="chat", codename__endswith="conversation"
        )
    )
    customer = make_customer()
    conversation = Conversation.objects.create(site=customer.site, customer=customer)
    client.force_login(supervisor)
    page = client.get("/admin/chat/conversation/").content.decode()
    assert f"/admin/chat/conversation/{conversation.pk}/change/" in page
    assert 'value="delete_selected"' not in page
    delete = client.get(f"/admin/chat/conversation/{conversation.pk}/delete/")
    assert delete.status_code == 403
    su = admin_client.get("/admin/chat/conversation/").content.decode()
    assert 'value="delete_selected"' in su
