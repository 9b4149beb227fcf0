"""The console shows the translation engine's real state (issue 16): with
TRANSLATION_ENGINE=argos and no argostranslate installed, it says unavailable and why;
with an engine, an agent asks for a message's translation from the transcript."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from actions import conversations as conversation_actions
from agents.models import AgentProfile
from chat.models import Message, MessageTranslation
from chat.pipeline.engines import argos_installed
from routing.services import conversation_assign
from tests.browser.test_chat_e2e import login, shop, watch_errors  # noqa: F401 (fixture)
from tests.factories import agent_actor, customer_actor, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.skipif(argos_installed(), reason="Argos is installed here; this checks its absence")
@pytest.mark.parametrize("server_env", [{"TRANSLATION_ENGINE": "argos"}])
def test_the_console_says_translation_is_unavailable_and_why(asgi_server, browser, shop):  # noqa: F811
    errors: list[str] = []
    page = watch_errors(browser.new_page(), errors)
    login(page, asgi_server.url)
    chip = page.get_by_test_id("translation-state")
    expect(chip).to_have_text("Translation unavailable")
    expect(chip).to_have_attribute("data-state", "unavailable")
    # The chip's text may be cut short in a narrow header: its title says it whole, and why.
    expect(chip).to_have_attribute(
        "title",
        "Translation unavailable: TRANSLATION_ENGINE=argos but argostranslate is not installed",
    )
    assert not errors, errors


@pytest.mark.parametrize("server_env", [{"TRANSLATION_ENGINE": "fake"}])
def test_an_agent_asks_for_a_translation_from_the_transcript(asgi_server, browser, shop):  # noqa: F811
    alice = get_user_model().objects.get(username="alice")
    # Alice reads French too: nothing is translated for her unless she asks.
    AgentProfile.objects.filter(user=alice).update(languages=["en", "fr"])
    customer = make_customer(site=shop, locale="fr")
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_assign(actor=agent_actor(alice), conversation_id=conversation.pk)
    message, _ = conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation.pk,
        body="Bonjour, où est ma commande ?",
        client_msg_id="c1",
    )
    # as the worker leaves it: detected, nothing to translate for anyone
    Message.objects.filter(pk=message.pk).update(
        language="fr", language_source="detected", pipeline=Message.Pipeline.DONE
    )
    errors: list[str] = []
    page = watch_errors(browser.new_page(), errors)
    login(page, asgi_server.url)
    expect(page.get_by_test_id("translation-state")).to_have_text("Translation: fake")
    page.get_by_test_id("mine-list").get_by_test_id("conversation-item").first.click()
    ask = page.get_by_test_id("transcript-translate")
    expect(ask).to_have_text("FR · translate")
    ask.click()
    expect(ask).to_have_text("translating…")
    for _ in range(50):  # the server stored the request (a worker would translate it)
        if MessageTranslation.objects.filter(message=message, language="en").exists():
            break
        time.sleep(0.1)
    row = MessageTranslation.objects.get(message=message, language="en")
    assert row.state == "pending" and row.source_language == "fr"
    assert not errors, errors
