"""In Chromium, under the admin's Content-Security-Policy: a site's Copy button puts the
embed tag on the clipboard, and its JSON fields are edited in a monospace box."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from tests.factories import make_site

pytestmark = pytest.mark.browser


def test_copy_puts_the_sites_tag_on_the_clipboard(asgi_server, browser):
    # The server's hasher, not the suite's fast MD5 one.
    hashed = PBKDF2PasswordHasher().encode("pw-root-1", PBKDF2PasswordHasher().salt())
    get_user_model().objects.create(
        username="root", password=hashed, is_staff=True, is_superuser=True
    )
    site = make_site(allowed_origins=["https://shop.example.com"], languages=["fr", "de"])
    base = asgi_server.url
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    try:
        page.goto(f"{base}/admin/login/?next=/admin/chat/site/{site.pk}/change/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "pw-root-1")
        page.click("input[type=submit]")
        snippet = (
            f'<script src="{base}/static/parley/widget.js" data-site="{site.key}" async></script>'
        )
        expect(page.locator("#embed-snippet")).to_have_value(snippet)
        button = page.locator("button[data-copy=embed-snippet]")
        expect(button).to_have_text("Copy")
        button.click()
        expect(button).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == snippet
        font = page.locator("#id_languages").evaluate("e => getComputedStyle(e).fontFamily")
        assert "monospace" in font
        assert page.locator("#id_languages").input_value() == '[\n  "fr",\n  "de"\n]'
        page.screenshot(path="/tmp/parley_admin_site.png", full_page=True)
        assert not refused, refused
    finally:
        context.close()
