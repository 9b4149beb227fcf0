"""What admin accepts (a supervisor probe): numbers within documented bounds, site keys that
fit a URL and a script tag, languages the rest of the code understands, API keys made in
admin as over the API, canned replies the console could have saved. Each refusal is the
form again with a message that says what to write, and nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agents.models import AgentProfile, CannedReply
from chat.models import SCOPES, ApiKey, Site
from routing.models import Queue, QueueEntry
from routing.services.core import lock_conversation
from routing.services.router import enqueue_locked
from tests.chat.admin_page import form_data
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def post_change(admin, url: str, **changes):
    """Submit the change (or add) form as a supervisor would, with ``changes`` typed in."""
    fields = form_data(admin.get(url).content.decode())
    for name, value in changes.items():
        fields[name] = value if isinstance(value, list) else [str(value)]
    return admin.post(url, fields)


def refused(response, message: str) -> None:
    page = response.content.decode()
    assert response.status_code == 200, "saved"
    assert message in page, page[page.find("errorlist") - 200 : page.find("errorlist") + 600]


def field_errors(obj, field: str) -> list[str]:
    try:
        obj.full_clean()
    except ValidationError as exc:
        return exc.message_dict.get(field, [])
    return []


# --- 1. numbers within bounds -------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "bad", "good", "says"),
    [
        ("sla_seconds", 0, 1, "Between 1 and 2,592,000 seconds (30 days)."),
        ("sla_seconds", 30 * 86_400 + 1, 30 * 86_400, "Between 1 and 2,592,000"),
        ("offer_timeout_seconds", 1, 5, "Between 5 and 600 seconds."),
        ("offer_timeout_seconds", 601, 600, "Between 5 and 600 seconds."),
        ("silence_nudge_seconds", 1, 5, "Between 5 and 86,400 seconds (a day)."),
        ("silence_close_seconds", 86_401, 86_400, "Between 5 and 86,400 seconds"),
        ("agent_lost_grace_seconds", 86_401, 0, "Between 0 and 86,400 seconds"),
        ("max_waiting", 100_001, 100_000, "Between 0 and 100,000."),
        ("priority", 101, 100, "Between -100 and 100."),
        ("priority", -101, -100, "Between -100 and 100."),
    ],
)
def test_queue_numbers_have_bounds(field, bad, good, says):
    queue = Queue(name="Care", **{field: bad})
    assert says in " ".join(field_errors(queue, field))
    setattr(queue, field, good)
    assert field_errors(queue, field) == []


def test_admin_refuses_a_queue_sla_out_of_range_and_says_the_bounds(admin):
    queue = Queue.objects.create(name="Care")
    url = f"/admin/routing/queue/{queue.pk}/change/"
    refused(post_change(admin, url, sla_seconds=0, offer_timeout_seconds=1),
            "Between 1 and 2,592,000 seconds (30 days).")  # fmt: skip
    queue.refresh_from_db()
    assert (queue.sla_seconds, queue.offer_timeout_seconds) == (120, 20)
    page = admin.get(url).content.decode()
    assert "1 s to 30 days" in page and "5 to 600 seconds" in page  # said before, too


def test_a_stored_sla_out_of_range_makes_a_far_deadline_not_a_500():
    """A row saved before the bounds (SQLite took SLA 999,999,999,999 s): the handoff's
    now + SLA was an OverflowError (date value out of range), a 500 on .../handoff/."""
    queue = Queue.objects.create(name="Care", limit_mode=Queue.LimitMode.NONE)
    queue.sla_seconds = 999_999_999_999  # as read back from such a row
    customer = make_customer(site=make_site(default_queue=queue))
    from chat.models import Conversation

    conversation = Conversation.objects.create(site=customer.site, customer=customer)
    with transaction.atomic():
        entry = enqueue_locked(
            conversation=lock_conversation(conversation.pk), reason="handoff", queue=queue
        )
    entry = QueueEntry.objects.get(pk=entry.pk)
    assert entry.sla_due_at.year == 9999


def test_site_agent_and_api_key_numbers_have_bounds():
    site = make_site()
    site.attachment_max_count, site.attachment_max_bytes = 101, 0
    assert field_errors(site, "attachment_max_count") == ["At most 100 attachments per message."]
    assert "At least 1 byte" in field_errors(site, "attachment_max_bytes")[0]
    site.attachment_max_count, site.attachment_max_bytes = 0, 1  # 0: attachments off
    assert field_errors(site, "attachment_max_count") == field_errors(site, "attachment_max_bytes") == []  # fmt: skip
    profile = AgentProfile.objects.get(user=make_agent())
    for capacity, errors in ((0, 1), (101, 1), (1, 0), (100, 0)):
        profile.max_concurrent_chats = capacity
        assert len(field_errors(profile, "max_concurrent_chats")) == errors, capacity
    key = ApiKey(name="crm", prefix="pk_x", key_hash="h" * 64, daily_requests=0, daily_bytes=0)
    assert (
        field_errors(key, "daily_requests")
        == field_errors(key, "daily_bytes")
        == ["At least 1; empty for the server's default."]
    )


# --- 2. site keys -------------------------------------------------------------------------
def test_a_site_key_must_fit_a_url_and_the_page_warns_about_changing_it(admin):
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    page = admin.get(url).content.decode()
    assert "breaks every page that embeds the old key" in page
    refused(post_change(admin, url, key="has spaces/<x>"), "A site key is 1-64 letters, digits")
    assert Site.objects.get(pk=site.pk).key == site.key
    response = post_change(admin, url, key="shop_fr-2")
    assert response.status_code == 302
    assert Site.objects.get(pk=site.pk).key == "shop_fr-2"


def test_the_demo_page_skips_a_stored_key_that_cannot_be_in_a_url(client):
    bad = make_site()
    Site.objects.filter(pk=bad.pk).update(key="has spaces/<x>")  # saved before the check
    assert client.get("/demo/").status_code == 404  # no usable site: not a 500
    good = make_site()
    response = client.get("/demo/")
    assert response.status_code == 302 and response["Location"] == f"/demo/{good.key}/"


# --- 3. languages, API keys, canned replies, secrets ---------------------------------------
@pytest.mark.parametrize(
    ("languages", "says"),
    [
        (["en"], "At least two of en, fr, it, es, de"),
        (["en", "xx"], "Not in PIPELINE_LANGUAGES: xx"),
        (["xx", "zz"], "Not in PIPELINE_LANGUAGES: xx, zz"),
    ],
)
def test_site_languages_are_two_or_more_pipeline_languages(admin, settings, languages, says):
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "LANGUAGES": ["en", "fr", "it", "es", "de"]}  # fmt: skip
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    import json

    refused(post_change(admin, url, languages=json.dumps(languages)), says)
    assert Site.objects.get(pk=site.pk).languages == []
    assert post_change(admin, url, languages='["FR", "de"]').status_code == 302
    assert Site.objects.get(pk=site.pk).languages == ["fr", "de"]


def test_queue_and_agent_languages_are_language_tags(admin):
    queue = Queue.objects.create(name="Care")
    url = f"/admin/routing/queue/{queue.pk}/change/"
    refused(post_change(admin, url, language="klingon!!"), "is not a language tag like")
    assert post_change(admin, url, language="pt_BR").status_code == 302
    assert Queue.objects.get(pk=queue.pk).language == "pt-br"  # as agents' tags are kept
    profile = AgentProfile.objects.get(user=make_agent(languages=["en"]))
    url = f"/admin/agents/agentprofile/{profile.pk}/change/"
    refused(post_change(admin, url, languages='["english", "xx"]'), "is not a language tag")
    assert AgentProfile.objects.get(pk=profile.pk).languages == ["en"]
    assert post_change(admin, url, languages='["EN", "pt-BR"]').status_code == 302
    assert AgentProfile.objects.get(pk=profile.pk).languages == ["en", "pt-br"]


def test_a_new_api_key_in_admin_has_every_scope_unless_unticked():
    from chat.admin_api_keys import ApiKeyForm

    assert ApiKeyForm()["scopes"].value() == list(SCOPES)


def test_admin_refuses_a_past_expiry_and_a_zero_rate(admin):
    url = "/admin/chat/apikey/add/"
    past = timezone.localtime() - dt.timedelta(days=1)
    response = post_change(admin, url, name="crm", expires_at_0=past.strftime("%Y-%m-%d"),
                           expires_at_1="12:00:00", rate_limit="0/min")  # fmt: skip
    refused(response, "An expiry in the future (empty: never expires).")
    refused(response, "A rate of 0 would remove the limit")
    assert not ApiKey.objects.exists()
    response = post_change(admin, url, name="crm", rate_limit="10/min")
    assert response.status_code == 302
    assert ApiKey.objects.get().scopes == list(SCOPES)  # every box came ticked


def test_an_api_key_that_has_expired_since_may_still_be_edited(admin):
    url = "/admin/chat/apikey/add/"
    assert post_change(admin, url, name="crm").status_code == 302
    key = ApiKey.objects.get()
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - dt.timedelta(days=3))
    response = post_change(admin, f"/admin/chat/apikey/{key.pk}/change/", name="crm-old")
    assert response.status_code == 302
    assert ApiKey.objects.get().name == "crm-old"


def test_canned_replies_in_admin_pass_the_consoles_checks(admin, settings):
    settings.PARLEY = {**settings.PARLEY, "MESSAGE_MAX_CHARS": 50}
    url = "/admin/agents/cannedreply/add/"
    refused(post_change(admin, url, shortcut="has space", body="Hello"),
            "A shortcut is 1-32 letters, digits, - or _")  # fmt: skip
    refused(post_change(admin, url, shortcut="hello", body="x" * 51),
            "At most 50 characters (MESSAGE_MAX_CHARS).")  # fmt: skip
    assert not CannedReply.objects.exists()
    assert post_change(admin, url, shortcut="hello", body="Hello!").status_code == 302


def test_a_duplicate_shortcut_is_said_to_be_taken(admin):
    CannedReply.objects.create(shortcut="hello", body="Hi")
    response = post_change(admin, "/admin/agents/cannedreply/add/", shortcut="hello", body="Hey")
    refused(response, "This shortcut is already taken among the shared replies for every site.")
    assert "canned_unique_global" not in response.content.decode()


def test_a_site_identity_secret_is_long_enough_to_be_a_secret(admin):
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    refused(post_change(admin, url, identity_secret="secret"), "at least 16 characters")
    assert post_change(admin, url, identity_secret="s" * 16).status_code == 302
