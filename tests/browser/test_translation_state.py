"""The console shows the translation engine's real state (issue 16): with
TRANSLATION_ENGINE=argos and no argostranslate installed, it says unavailable and why."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.pipeline.engines import argos_installed
from tests.browser.test_chat_e2e import login, shop, watch_errors  # noqa: F401 (fixture)

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
    expect(chip).to_have_attribute(
        "title", "TRANSLATION_ENGINE=argos but argostranslate is not installed"
    )
    assert not errors, errors
