"""Production defaults in a real Chromium: the Content-Security-Policy lets the console,
admin and the API docs work (no violation reported), and a widget tab whose token another
tab's refresh revoked picks up that tab's token instead of becoming a stranger."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from chat.models import Customer, Message
from tests.browser.test_chat_e2e import (
    VIEWPORT,
    login,
    open_widget,
    shop,  # noqa: F401 (a fixture)
    transcript,
    watch_errors,
    write,
)

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "correct-horse-admin"


def test_admin_and_the_api_docs_work_under_the_content_security_policy(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    hashed = PBKDF2PasswordHasher().encode(ADMIN_PASSWORD, PBKDF2PasswordHasher().salt())
    get_user_model().objects.create(
        username="root", password=hashed, is_staff=True, is_superuser=True
    )
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = watch_errors(context.new_page(), errors)
        response = page.goto(f"{asgi_server.url}/admin/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.fill("#id_username", "root")
        page.fill("#id_password", ADMIN_PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#site-name")).to_be_visible()
        page.goto(f"{asgi_server.url}/admin/chat/site/add/")
        expect(page.locator("#site_form")).to_be_visible()
        page.goto(f"{asgi_server.url}/api/docs/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Parley API")
        agent = browser.new_context(viewport=VIEWPORT)
        login(watch_errors(agent.new_page(), errors), asgi_server.url)  # its socket: "Online"
        agent.close()
    finally:
        context.close()
    # Admin's pages link no icon, so Chromium asks for /favicon.ico itself: a 404 that
    # Playwright reports only as a console line (no response event, no URL).
    favicon = "/admin/login/?next=/admin/: Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert [e for e in errors if not e.endswith(favicon)] == []


@pytest.mark.parametrize("server_env", [{"VISITOR_TOKEN_GRACE": "1"}])
def test_a_tab_whose_token_another_tab_revoked_keeps_its_conversation(
    asgi_server,
    browser,
    shop,  # noqa: F811
    server_env,
):
    expect.set_options(timeout=15_000)
    back = 45_000  # reconnecting waits out a jittered back-off
    errors: list[str] = []
    demo_url = f"{asgi_server.url}/demo/{shop.key}/"
    customer = browser.new_context(viewport=VIEWPORT)
    try:
        tab1 = watch_errors(customer.new_page(), errors)
        open_widget(tab1, demo_url)
        first = "Do you rent out floor sanders?"
        write(tab1, first)
        expect(transcript(tab1, "parley-messages")).to_have_text([first])
        tab1_token = tab1.evaluate("() => Object.entries(localStorage)")
        # A second tab loads: its refresh revokes the token tab1 connected with.
        tab2 = watch_errors(customer.new_page(), errors)
        open_widget(tab2, demo_url + "?section=paint")
        expect(transcript(tab2, "parley-messages")).to_have_text([first])
        assert tab2.evaluate("() => Object.entries(localStorage)") != tab1_token

        # Both lose their sockets; tab1 comes back with a revoked token (4401), and must
        # take the newer token tab2 stored rather than start as another visitor.
        asgi_server.stop()
        asgi_server.start()
        second = "For a weekend, if possible."
        write(tab1, second)
        expect(transcript(tab1, "parley-messages")).to_have_text([first, second], timeout=back)
        expect(transcript(tab2, "parley-messages")).to_have_text([first, second], timeout=back)
    finally:
        customer.close()
    assert Customer.objects.count() == 1
    assert list(Message.objects.values_list("seq", "body").order_by("seq")) == [
        (1, first),
        (2, second),
    ]
    # The 4401 on the revoked token is expected; nothing else went wrong.
    assert [e for e in errors if "401" not in e and "WebSocket" not in e] == []
