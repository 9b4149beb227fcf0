"""A site's admin page shows the tag that embeds its widget, ready to copy, on the server's
own URL, with where the widget may run (the site's allowed origins)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.chat import admin_page
from tests.factories import make_site

pytestmark = pytest.mark.django_db


def _snippet(client, site, **request) -> str:
    response = client.get(f"/admin/chat/site/{site.pk}/change/", **request)
    assert response.status_code == 200
    return admin_page.textarea(response.content.decode(), "embed-snippet")["text"]


def test_the_site_page_shows_the_sites_own_script_tag(admin_client):
    site = make_site()
    other = make_site()
    snippet = _snippet(admin_client, site)
    assert snippet == (
        f'<script src="http://testserver/static/parley/widget.js" data-site="{site.key}" '
        "async></script>"
    )
    assert other.key in _snippet(admin_client, other) and other.key not in snippet


def test_the_tag_is_on_the_url_the_admin_was_reached_by(admin_client):
    site = make_site()
    snippet = _snippet(admin_client, site, secure=True, HTTP_HOST="localhost:8443")
    assert snippet.startswith('<script src="https://localhost:8443/static/parley/widget.js"')


def test_the_tags_url_serves_the_widget_loader(admin_client):
    site = make_site()
    src = re.fullmatch(r'<script src="([^"]+)" data-site="[^"]+" async></script>',
                       _snippet(admin_client, site)).group(1)  # fmt: skip
    response = Client().get(src)  # as a visitor's browser: no session
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"Parley chat widget loader" in body and b"data-site" in body


def test_the_copy_button_and_its_script_come_from_this_server(admin_client):
    site = make_site()
    page = admin_client.get(f"/admin/chat/site/{site.pk}/change/").content.decode()
    assert re.search(r'<button type="button"[^>]*data-copy="embed-snippet"', page)
    # A file, as the CSP asks (scripts from this origin or with the response's nonce).
    assert '<script src="/static/parley/admin/copy.js"></script>' in page
    response = Client().get("/static/parley/admin/copy.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert b"navigator.clipboard" in body


def test_the_allowed_origins_are_named_beside_the_tag(admin_client):
    site = make_site(allowed_origins=["https://shop.example.com", "http://localhost:8080"])
    page = admin_client.get(f"/admin/chat/site/{site.pk}/change/").content.decode()
    note = re.search(r'<p id="embed-origins">(.*?)</p>', page, re.S).group(1)
    assert "works only on pages of these origins" in note
    assert "<code>https://shop.example.com</code>, <code>http://localhost:8080</code>" in note
    site.allowed_origins = []
    site.save()
    page = admin_client.get(f"/admin/chat/site/{site.pk}/change/").content.decode()
    note = re.search(r'<p id="embed-origins">(.*?)</p>', page, re.S).group(1)
    assert "any website may embed this widget" in note


def test_a_refused_form_shows_the_saved_key_and_origins_not_the_typed_ones(admin_client):
    site = make_site(allowed_origins=["https://shop.example.com"])
    url = f"/admin/chat/site/{site.pk}/change/"
    data = admin_page.form_data(admin_client.get(url).content.decode())
    data["key"] = ["typed-but-not-saved"]
    data["allowed_origins"] = ['["shop.example.com"]']  # no scheme: refused
    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    snippet = admin_page.textarea(page, "embed-snippet")["text"]
    assert f'data-site="{site.key}"' in snippet
    assert "<code>https://shop.example.com</code>" in page


def test_the_add_page_has_no_tag_yet(admin_client):
    page = admin_client.get("/admin/chat/site/add/").content.decode()
    assert 'id="embed-snippet"' not in page
