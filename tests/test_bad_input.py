"""Bad input Django would answer with a 500 gets a 400 (config/bad_input.py): NUL in a URL
on public pages, the API and admin filters; values Django's admin converts unchecked."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_customer, make_site

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/status/%00/",
        "/demo/%00/",
        "/widget/frame/?site=%00&origin=http%3A%2F%2F127.0.0.1%3A8000",
        "/api/v1/conversations/?status=%00",
        "/healthz?x=%00",
    ],
)
def test_a_nul_in_a_url_is_a_400(url):
    response = Client().get(url)
    assert response.status_code == 400, (url, response.status_code)
    if url.startswith("/api/"):
        assert response.json()["error"]["code"] == "invalid_field"


def test_admin_filters_and_actions_with_values_django_cannot_use_are_400s(admin_client):
    make_customer(site=make_site())
    for url in (
        "/admin/chat/conversation/?status__exact=%00",
        "/admin/chat/conversation/?created_at__year=18446744073709551616",
        "/admin/chat/customer/?locale=%00",
    ):
        response = admin_client.get(url)
        assert response.status_code == 400, (url, response.status_code)
    response = admin_client.post(
        "/admin/chat/customer/", {"action": "erase", "_selected_action": "abc"}
    )
    assert response.status_code == 400
    assert admin_client.get("/admin/chat/conversation/").status_code == 200


def _admin_form(admin_client, url: str) -> dict:
    """The form's current values, as the admin renders them (every field, prefilled)."""
    response = admin_client.get(url)
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = value  # BoundField.value() is prepared for the widget already
    return data


@pytest.mark.parametrize(
    ("value", "why"),
    [("1e309", "infinity"), ("", "cleared"), ('["a\\u0000"]', "NUL"), ("5", "not a list"),
     ('{"a": 1}', "not a list"), ("[1, 2]", "not words")],
)  # fmt: skip
def test_an_agents_languages_in_the_admin_must_be_a_list_of_words(admin_client, value, why):
    from tests.factories import make_agent

    agent = make_agent("json_probe")
    url = f"/admin/agents/agentprofile/{agent.agent_profile.pk}/change/"
    data = _admin_form(admin_client, url)
    data["languages"] = value
    response = admin_client.post(url, data)
    assert response.status_code == 200, why  # the form again, with its error
    assert response.context["adminform"].form.errors.get("languages"), why
    agent.agent_profile.refresh_from_db()
    assert isinstance(agent.agent_profile.languages, list)


def test_an_agents_languages_in_the_admin_save_when_they_are_words(admin_client):
    from tests.factories import make_agent

    agent = make_agent("json_ok")
    url = f"/admin/agents/agentprofile/{agent.agent_profile.pk}/change/"
    data = _admin_form(admin_client, url)
    data["languages"] = '["fr", "de"]'
    response = admin_client.post(url, data)
    if response.status_code == 200:  # re-rendered for the inlines' forms, not for ours
        assert not response.context["adminform"].form.errors
    else:
        agent.agent_profile.refresh_from_db()
        assert agent.agent_profile.languages == ["fr", "de"]


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_pages_answer_only_get_and_head(method):
    site = make_site()
    client = Client()
    for url in ("/healthz", "/status/", f"/demo/{site.key}/", "/console/", "/supervision/"):
        assert getattr(client, method)(url).status_code == 405, (method, url)
    assert client.head(f"/demo/{site.key}/").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("allowed_origins", '["shop.example.com"]'),  # no scheme: never matched a request
     ("allowed_origins", '["https://shop.example.com/checkout"]'),  # a path
     ("allowed_origins", '["ftp://shop.example.com"]'),
     ("allowed_origins", '["https://shop.example.com:99999"]'),
     ("allowed_origins", '"https://shop.example.com"'),  # not a list
     ("attachment_max_bytes", "999999999")],  # over ATTACHMENT_MAX_BYTES_CEILING
)  # fmt: skip
def test_a_sites_origins_and_attachment_size_are_checked_in_the_admin(admin_client, field, value):
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    data = _admin_form(admin_client, url)
    data[field] = value
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get(field), field


def test_a_sites_good_origins_save(admin_client):
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    data = _admin_form(admin_client, url)
    data["allowed_origins"] = '["https://shop.example.com", "http://localhost:8080/"]'
    data["attachment_max_bytes"] = "1048576"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.origin_allowed("http://localhost:8080") and site.attachment_max_bytes == 1048576
