"""The console's address per conversation and its context panel on a narrow screen, in a real
Chromium: the address names the chat opened (/console/#/conversations/<id>), a reload or a
new tab opens the chat the address names, Back and Forward move between the chats opened in
the tab, a chat this agent may not open says so; below 1100 px the "Customer details"
button shows the context panel as a drawer. Helpers and fixtures come from test_chat_e2e."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import test_chat_e2e as e2e
from tests.browser.test_chat_e2e import VIEWPORT, login, watch_errors

pytestmark = pytest.mark.browser
shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it

NOT_OPEN = "is not open to you"


def _agent(username: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from agents.models import AgentProfile

    hashed = PBKDF2PasswordHasher().encode(e2e.PASSWORD, PBKDF2PasswordHasher().salt())
    user = get_user_model().objects.create(username=username, password=hashed)
    AgentProfile.objects.create(user=user, display_name=username.title(), languages=["en"])
    return user


def _chat(site, name: str, assignee, status: str = "assigned", email: str = ""):
    """A conversation of `name` with one message of theirs, given to `assignee`."""
    from chat.models import Conversation, Customer, Message, Participant
    from routing.models import Queue

    now = timezone.now()
    customer = Customer.objects.create(site=site, name=name, email=email)
    conversation = Conversation.objects.create(
        site=site,
        customer=customer,
        queue=Queue.objects.get(name="General"),
        status=status,
        assignee=assignee,
        last_seq=1,
        queued_at=now,
        assigned_at=now,
        resolved_at=now if status == "resolved" else None,
        last_message_at=now,
    )
    sender = Participant.objects.create(
        conversation=conversation, role="customer", customer=customer
    )
    Participant.objects.create(conversation=conversation, role="agent", user=assignee)
    Message.objects.create(conversation=conversation, seq=1, sender=sender, body=f"{name} here.")
    return conversation


def _open(console, conv, name: str) -> None:
    item = console.get_by_test_id("mine-list").locator(f"li[data-conversation='{conv.pk}']")
    item.get_by_test_id("conversation-open").click()
    expect(console.get_by_test_id("chat-title")).to_have_text(name)


def test_the_address_names_the_open_chat_across_reloads_tabs_and_back(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    alice = get_user_model().objects.get(username="alice")
    ann = _chat(shop, "Ann Archer", alice)
    ben = _chat(shop, "Ben Brook", alice)
    cora = _chat(shop, "Cora Cole", alice, status="resolved")  # closed: not in the lists
    dora = _chat(shop, "Dora Dune", _agent("bob"))  # Bob's: never Alice's to see
    address = f"{base}/console/#/conversations/%d"
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)  # the console opens a chat by itself: the address stays
        title = console.get_by_test_id("chat-title")
        expect(title).to_have_text(re.compile("Ann Archer|Ben Brook"))
        expect(console).to_have_url(f"{base}/console/")

        # Each chat opened gets its address, one history step each.
        _open(console, ann, "Ann Archer")
        expect(console).to_have_url(address % ann.pk)
        _open(console, ben, "Ben Brook")
        expect(console).to_have_url(address % ben.pk)
        composer = console.get_by_test_id("composer-input")
        composer.fill("Ben, half a reply")

        # Back and Forward move between them; each keeps its draft.
        console.go_back()
        expect(title).to_have_text("Ann Archer")
        expect(console).to_have_url(address % ann.pk)
        expect(composer).to_have_value("")
        console.go_forward()
        expect(title).to_have_text("Ben Brook")
        expect(composer).to_have_value("Ben, half a reply")

        # The shortcuts move the address too (j: the next chat in the list).
        composer.press("Escape")  # leaves the reply box: the shortcuts are live again
        console.keyboard.press("j")
        expect(title).not_to_have_text("Ben Brook")
        expect(console).not_to_have_url(address % ben.pk)
        expect(console).to_have_url(re.compile(r"#/conversations/\d+$"))
        console.go_back()
        expect(title).to_have_text("Ben Brook")

        # A reload opens the chat the address names.
        console.reload()
        expect(console.get_by_test_id("console-connection")).to_have_text("Connected")
        expect(title).to_have_text("Ben Brook")
        expect(console).to_have_url(address % ben.pk)

        # A new tab (its own sessionStorage: nothing remembered) follows the link alone,
        # a closed chat of Alice's included.
        tab = watch_errors(agent.new_page(), errors)
        tab.goto(address % ann.pk)
        expect(tab.get_by_test_id("chat-title")).to_have_text("Ann Archer")
        expect(tab.get_by_test_id("transcript")).to_contain_text("Ann Archer here.")
        tab.goto(address % cora.pk)  # the same page: a fragment navigation (popstate)
        expect(tab.get_by_test_id("chat-title")).to_have_text("Cora Cole")
        tab.reload()
        expect(tab.get_by_test_id("chat-title")).to_have_text("Cora Cole")
        expect(tab.get_by_test_id("chat-status")).to_have_text("Resolved")
        expect(tab).to_have_url(address % cora.pk)

        # Bob's chat, or one that does not exist: a notice, the console with nothing open,
        # and an address that names nothing.
        for refused in (dora.pk, 987654):
            page = watch_errors(agent.new_page(), errors)
            page.goto(address % refused)
            notice = page.get_by_test_id("route-notice")
            expect(notice).to_be_visible()
            expect(notice).to_have_text(re.compile(rf"^Conversation {refused} {NOT_OPEN}"))
            expect(page.get_by_test_id("chat-empty")).to_be_visible()
            expect(page.get_by_test_id("chat")).to_be_hidden()
            expect(page).to_have_url(f"{base}/console/")
            expect(page.get_by_test_id("transcript")).not_to_contain_text("Dora")
            # Opening a chat of one's own puts the notice away.
            _open(page, ann, "Ann Archer")
            expect(notice).to_be_hidden()
            expect(page).to_have_url(address % ann.pk)
            page.close()

        # A fragment typed into the address bar of an open console switches chats.
        tab.evaluate(f"location.hash = '#/conversations/{ben.pk}'")
        expect(tab.get_by_test_id("chat-title")).to_have_text("Ben Brook")
        tab.evaluate(f"location.hash = '#/conversations/{dora.pk}'")
        expect(tab.get_by_test_id("route-notice")).to_have_text(
            re.compile(rf"^Conversation {dora.pk} {NOT_OPEN}")
        )
        expect(tab).to_have_url(f"{base}/console/")
    finally:
        agent.close()
    assert errors == []


def test_a_resolved_chat_keeps_its_address(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    ann = _chat(shop, "Ann Archer", get_user_model().objects.get(username="alice"))
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        _open(console, ann, "Ann Archer")
        expect(console).to_have_url(f"{base}/console/#/conversations/{ann.pk}")
        console.get_by_test_id("chat-resolve").click()
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved")
        # Still on screen, closed: the address still names it, and a reload shows it again.
        expect(console).to_have_url(f"{base}/console/#/conversations/{ann.pk}")
        console.reload()
        expect(console.get_by_test_id("chat-title")).to_have_text("Ann Archer")
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved")
        expect(console.get_by_test_id("composer-note")).to_have_text("This conversation is closed.")
    finally:
        agent.close()
    assert errors == []


# The server's first answer about conversation TARGET becomes a rate_limited refusal, as a
# burst of tabs loading at once on one shared socket gets (the server drops such frames
# unread).
REFUSE_FIRST_RESUME = e2e.wrap_pushes("""
        const asked = frame && typeof frame.ref === "string" && frame.ref.startsWith("r:TARGET:");
        if (asked && !window.parleyRefusedOnce) {
          window.parleyRefusedOnce = true;
          const refusal = {type: "error", code: "rate_limited", message: "Too many frames.", ref: frame.ref};
          handler.call(this, new MessageEvent("message", {data: JSON.stringify(refusal)}));
          return;
        }
        deliver();
""")


def test_a_link_whose_first_fetch_was_rate_limited_still_opens(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    alice = get_user_model().objects.get(username="alice")
    _chat(shop, "Ann Archer", alice)
    cora = _chat(shop, "Cora Cole", alice, status="resolved")
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script(REFUSE_FIRST_RESUME.replace("TARGET", str(cora.pk)))
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.goto(f"{base}/console/#/conversations/{cora.pk}")
        console.reload()
        expect(console.get_by_test_id("chat-title")).to_have_text("Cora Cole")
        expect(console.get_by_test_id("transcript")).to_contain_text("Cora Cole here.")
        expect(console.get_by_test_id("context-name")).to_have_text("Cora Cole")
        assert console.evaluate("window.parleyRefusedOnce") is True
    finally:
        agent.close()
    assert errors == []


def test_the_context_panel_opens_as_a_drawer_on_a_narrow_screen(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    _chat(
        shop, "Ann Archer", get_user_model().objects.get(username="alice"), email="ann@example.com"
    )
    agent = browser.new_context(viewport={"width": 1000, "height": 760})
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        expect(console.get_by_test_id("chat-title")).to_have_text("Ann Archer")
        context = console.get_by_test_id("context")
        toggle = console.get_by_test_id("context-toggle")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_text("Customer details")
        expect(toggle).to_have_attribute("aria-controls", "context-panel")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(context).to_have_attribute("id", "context-panel")
        expect(context).to_be_hidden()

        # From the keyboard: the button opens the drawer and the focus goes into it;
        # Escape closes it and gives the focus back to the button.
        toggle.focus()
        console.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(context).to_be_visible()
        expect(context).to_be_focused()
        expect(context.get_by_test_id("context-email")).to_have_text("ann@example.com")
        console.keyboard.press("Escape")
        expect(context).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(toggle).to_be_focused()

        # With the pointer: the drawer leaves the chat's head (and the button) uncovered,
        # so the same button closes it.
        toggle.click()
        expect(context).to_be_visible()
        expect(context.get_by_test_id("context-name")).to_have_text("Ann Archer")
        head = console.locator(".chat-head").bounding_box()
        box = context.bounding_box()
        assert head is not None and box is not None
        assert box["y"] >= head["y"] + head["height"] - 1
        assert box["x"] + box["width"] <= 1000 + 1
        console.screenshot(path="/tmp/parley_e2e_console_drawer.png")
        toggle.click()
        expect(context).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")

        # Wide enough for three columns: the panel is one again, the button goes.
        console.set_viewport_size({"width": 1280, "height": 760})
        expect(toggle).to_be_hidden()
        expect(context).to_be_visible()
        expect(context.get_by_test_id("context-name")).to_have_text("Ann Archer")
    finally:
        agent.close()
    assert errors == []


def test_a_link_followed_while_signed_out_opens_after_signing_in(asgi_server, browser, shop):
    # The fragment never reaches the server: /console/ sends the agent to sign in with
    # next=/console/ only. The browser keeps the fragment over that redirect, and the sign-in
    # page puts it back on next (static/auth/keep-link.js).
    from django.contrib.auth import get_user_model

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    alice = get_user_model().objects.get(username="alice")
    _chat(shop, "Ann Archer", alice)
    dora = _chat(shop, "Dora Dune", alice)  # not the one the console would open by itself
    context = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(context.new_page(), errors)
        console.goto(f"{base}/console/#/conversations/{dora.pk}")
        expect(console).to_have_url(re.compile(r"/accounts/login/"))
        console.get_by_test_id("login-username").fill("alice")
        console.get_by_test_id("login-password").fill(e2e.PASSWORD)
        console.get_by_test_id("login-submit").click()
        expect(console).to_have_url(f"{base}/console/#/conversations/{dora.pk}")
        expect(console.get_by_test_id("chat-title")).to_have_text("Dora Dune")
        assert errors == []
    finally:
        context.close()


def test_a_link_to_a_chat_since_handed_to_another_agent_says_so_and_opens_nothing(
    asgi_server, browser, shop
):
    # Alice took part in Eve's chat, then it went to Bob. Her link to it used to drop the
    # notice at once: the console opened one of her other chats by itself, hiding why.
    from django.contrib.auth import get_user_model

    from chat.models import Participant

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    alice = get_user_model().objects.get(username="alice")
    _chat(shop, "Ann Archer", alice)
    eve = _chat(shop, "Eve Evans", _agent("bob"))
    Participant.objects.create(
        conversation=eve, role="agent", user=alice, left_at=timezone.now()
    )  # fmt: skip
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        expect(console.get_by_test_id("chat-title")).to_have_text("Ann Archer")
        page = watch_errors(agent.new_page(), errors)
        page.goto(f"{base}/console/#/conversations/{eve.pk}")
        notice = page.get_by_test_id("route-notice")
        expect(notice).to_have_text(re.compile(rf"^Conversation {eve.pk} {NOT_OPEN}"))
        expect(page.get_by_test_id("mine-list").locator("li[data-conversation]")).to_have_count(1)
        expect(page.get_by_test_id("chat-empty")).to_be_visible()  # nothing opened by itself
        # A chat that becomes hers meanwhile (taken in her other tab) does not open here by
        # itself either: that hid the notice, and the agent never learnt why.
        customer = browser.new_context(viewport=VIEWPORT)
        tab = watch_errors(customer.new_page(), errors)
        e2e.open_widget(tab, f"{base}/demo/{shop.key}/")
        e2e.write(tab, "A new question.")
        e2e.stored_first(tab)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(page.get_by_test_id("mine-list").locator("li[data-conversation]")).to_have_count(2)
        expect(notice).to_be_visible()
        expect(page.get_by_test_id("chat-empty")).to_be_visible()
        expect(page).to_have_url(f"{base}/console/")
        customer.close()
    finally:
        agent.close()
    assert errors == []
