"""An API URL without its trailing slash: a 308 to the slashed URL for every method (the
method and body kept, RFC 7538), with DEBUG on (the embedded mode) and off. Django's
CommonMiddleware raised a RuntimeError for POST/PUT/PATCH/DELETE with DEBUG on (a 500,
anonymously) and answered a 301 with it off (a client re-sent a GET without the body)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api.conftest import key_client
from tests.factories import make_site

pytestmark = pytest.mark.django_db


def _redirected(answer, location: str) -> None:
    assert answer.status_code == 308, answer.content
    assert answer["Location"] == location
    error = answer.json()["error"]
    assert error["code"] == "trailing_slash" and error["location"] == location
    assert location in error["message"]


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/widget/sessions"),
        ("post", "/api/v1/conversations"),
        ("patch", "/api/v1/conversations/4"),
        ("delete", "/api/v1/rules/1"),
        ("put", "/api/v1/customers/9"),
        ("get", "/api/v1/agents"),
        ("post", "/api/v1/conversations/4/messages/7/translate"),
    ],
)
def test_every_method_without_the_slash_is_a_308_to_it(debug, method, path):
    with override_settings(DEBUG=debug):
        for client in (APIClient(), key_client()[0]):  # anonymous too: no credentials needed
            body = {} if method == "get" else {"site_key": "x"}
            answer = getattr(client, method)(path, body, format="json")
            _redirected(answer, f"{path}/")


@pytest.mark.parametrize("debug", [True, False])
def test_the_query_string_is_kept_and_a_url_that_does_not_exist_stays_a_404(debug):
    api, _ = key_client()
    with override_settings(DEBUG=debug):
        _redirected(
            api.get("/api/v1/conversations?status=queued"), "/api/v1/conversations/?status=queued"
        )
        missing = api.post("/api/v1/nothing-here", {}, format="json")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        # Outside /api/ Django's own rule is left alone.
        assert api.get("/console").status_code == 301


@pytest.mark.parametrize("debug", [True, False])
def test_a_client_that_follows_the_308_sends_the_same_post_again(debug):
    make_site(key="demo-diy-shop")
    with override_settings(DEBUG=debug):
        answer = APIClient().post(
            "/api/v1/widget/sessions", {"site_key": "demo-diy-shop"}, format="json", follow=True
        )
    assert answer.redirect_chain == [("/api/v1/widget/sessions/", 308)]
    assert answer.status_code in (200, 201), answer.content
    assert answer.json()["token"]


def test_a_cross_origin_redirect_carries_the_cors_headers():
    # A browser follows a cross-origin redirect only with them (the widget on any site).
    answer = APIClient().post(
        "/api/v1/widget/sessions", {}, format="json", HTTP_ORIGIN="https://shop.example"
    )
    assert answer.status_code == 308
    assert answer["Access-Control-Allow-Origin"] == "https://shop.example"
