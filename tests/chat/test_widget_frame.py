"""The widget's frame page and the origin it speaks for: who may frame it, which language it
speaks, and how the session and the socket check the embedding page's origin."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from chat import services
from chat.widget_frame import frame_language
from chat.widget_texts import TEXTS
from config.asgi import application
from tests.chat.test_consumers import TIMEOUT, assert_closed_with, new_customer, recv
from tests.factories import make_site

pytestmark = pytest.mark.django_db


def frame(client: Client, **params):
    return client.get("/widget/frame/", params)


def config_of(response) -> dict:
    html = response.content.decode()
    start = html.index('id="parley-config" type="application/json">') + len(
        'id="parley-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_frame_may_be_framed_by_the_origin_it_names_only():
    site = make_site()
    response = frame(Client(), site=site.key, origin="https://shop.example", lang="en")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example" in policy
    assert "'none'" not in policy.split("frame-ancestors")[1].split(";")[0]
    # ...and the rest of the site's policy, on the page that shows untrusted chat text.
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "X-Frame-Options" not in response  # the CSP governs framing
    config = config_of(response)
    assert config["site"] == site.key and config["hostOrigin"] == "https://shop.example"
    assert config["bot"] is False
    # The module of the SharedWorker whose one socket the site's tabs share.
    assert config["sharedWorkerUrl"].endswith("parley/client/sharedworker.js")
    # The files a message may carry: the widget refuses a bigger pick before uploading.
    assert config["attachmentMaxCount"] == 5
    site.attachment_max_count = 2
    site.save(update_fields=["attachment_max_count"])
    again = frame(Client(), site=site.key, origin="https://shop.example", lang="en")
    assert config_of(again)["attachmentMaxCount"] == 2


@pytest.mark.parametrize(
    "origin",
    ["", "shop.example", "javascript:alert(1)", "https://shop.example/path", "https://a b"],
)
def test_a_bad_origin_is_a_400_and_an_unknown_site_a_404(origin):
    site = make_site()
    assert frame(Client(), site=site.key, origin=origin).status_code == 400
    assert frame(Client(), site="nope", origin="https://shop.example").status_code == 404


@pytest.mark.parametrize(
    ("asked", "got"),
    [("fr-FR", "fr"), ("de_DE", "de"), ("es-419", "es"), ("it", "it"), ("pt-BR", "en"),
     ("", "en"), ("<script>", "en")],
)  # fmt: skip
def test_the_language_is_the_closest_supported_one(asked, got):
    assert frame_language(asked) == got


def test_the_frame_speaks_french_from_the_catalog():
    site = make_site()
    response = frame(Client(), site=site.key, origin="https://shop.example", lang="fr-CA")
    config = config_of(response)
    assert config["language"] == "fr"
    assert config["texts"]["placeholder"] == "Écrivez un message…"
    assert '<html lang="fr" dir="ltr">' in response.content.decode()


@pytest.mark.parametrize("language", ["fr", "it", "es", "de"])
def test_every_widget_text_is_translated(language):
    english = {key: str(text) for key, text in TEXTS.items()}
    with translation.override(language):
        same = {key for key, text in TEXTS.items() if str(text) == english[key]}
    # Words that are the same in that language.
    assert same <= {"conversation", "system", "optional", "emoji"}


def test_the_session_checks_the_origin_the_frame_speaks_for():
    site = make_site(allowed_origins=["https://shop.example"])
    client = APIClient()
    own = {"HTTP_ORIGIN": "http://testserver"}  # the frame: Parley's own origin
    ok = client.post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key, "host_origin": "https://shop.example"},
        format="json",
        **own,
    )
    assert ok.status_code == 200
    bad = client.post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key, "host_origin": "https://evil.example"},
        format="json",
        **own,
    )
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "origin_not_allowed"
    # A foreign page cannot claim an allowed origin: its own Origin header counts.
    forged = client.post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key, "host_origin": "https://shop.example"},
        format="json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert forged.status_code == 403


@pytest.mark.django_db(transaction=True)  # the socket's database threads see the rows
async def test_the_frame_socket_comes_from_parleys_own_origin():
    site = await database_sync_to_async(make_site)(allowed_origins=["https://shop.example"])
    customer = await new_customer(site=site)
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    comm = WebsocketCommunicator(
        application,
        f"/ws/widget/?token={token}",
        headers=[(b"origin", b"https://parley.example"), (b"host", b"parley.example")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    assert (await recv(comm, "hello"))["role"] == "customer"
    await comm.disconnect()
    # Another origin than the host's own is still checked against the site's list.
    await assert_closed_with(
        WebsocketCommunicator(
            application,
            f"/ws/widget/?token={token}",
            headers=[(b"origin", b"https://evil.example"), (b"host", b"parley.example")],
        ),
        4403,
        "origin_not_allowed",
    )


@pytest.mark.parametrize("language", ["fr", "it", "es", "de"])
def test_the_catalogs_have_no_fuzzy_or_missing_translation(language):
    # makemessages marks a new text close to an old one "fuzzy" with the old translation,
    # which msgfmt then leaves out: the text silently shows in English.
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale" / language / "LC_MESSAGES" / "django.po"
    entries = po.read_text().split("\n\n")[1:]  # the header first
    assert not [e for e in entries if "#, fuzzy" in e]
    assert not [e for e in entries if e.rstrip().endswith('msgstr ""')]
