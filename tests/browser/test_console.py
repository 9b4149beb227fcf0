"""The agent console's tools in a real Chromium (issue 11): internal notes, and XSS
payloads staying inert in every panel. Helpers and fixtures come from test_chat_e2e."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chat.models import Message, Note
from tests.browser import test_chat_e2e as e2e
from tests.browser.test_chat_e2e import (
    LISTED_ONCE,
    VIEWPORT,
    listed_twice,
    login,
    open_widget,
    set_tab_visible,
    transcript,
    watch_errors,
    write,
)

pytestmark = pytest.mark.browser
shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def test_an_internal_note_stays_with_the_agents(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        first = "My refund never came."
        write(tab, first)
        e2e.stored_first(tab)
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()

        console.get_by_test_id("composer-mode-note").click()
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        secret = f"Finance approved the refund {XSS}"
        composer = console.get_by_test_id("composer-input")
        composer.fill(secret)
        composer.press("Enter")
        expect(composer).to_have_value("")
        note = console.get_by_test_id("transcript-note")
        expect(note).to_have_count(1)
        expect(note.get_by_test_id("transcript-note-body")).to_have_text(secret)
        expect(note).to_contain_text("only agents see this")
        console.screenshot(path="/tmp/parley_e2e_console_note.png")

        # Back to replies: the customer gets the reply, never the note.
        console.get_by_test_id("composer-mode-reply").click()
        answer = "I'm on it: the refund is on its way."
        composer.fill(answer)
        composer.press("Enter")
        expect(transcript(tab, "parley-messages").last).to_have_text(answer)
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).not_to_contain_text(
            "Finance approved"
        )
        tab.reload()
        expect(transcript(tab, "parley-messages").last).to_have_text(answer)
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).not_to_contain_text(
            "Finance approved"
        )

        # A reload of the console fetches the note again, in its place.
        console.reload()
        expect(note.get_by_test_id("transcript-note-body")).to_have_text(secret)
        expect(console.get_by_test_id("transcript").locator("img, script")).to_have_count(0)
        assert console.evaluate("window.__xss") is None
    finally:
        customer.close()
        agent.close()
    assert Note.objects.get().body == secret
    assert not Message.objects.filter(body__contains="Finance approved").exists()
    assert errors == []


def _past_conversation(customer, body: str):
    """An earlier, resolved conversation of the same customer, with one message."""
    from chat.models import Conversation, Participant

    past = Conversation.objects.create(
        site=customer.site, customer=customer, status="resolved", last_seq=1
    )
    sender = Participant.objects.create(conversation=past, role="customer", customer=customer)
    Message.objects.create(conversation=past, seq=1, sender=sender, body=body)
    return past


def test_three_panes_context_sla_colours_and_no_duplicate_take(asgi_server, browser, shop):
    from agents.models import AgentProfile
    from chat.csat_models import CsatRating
    from chat.models import Conversation, Customer, Note
    from routing.models import Queue

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    Queue.objects.filter(name="General").update(sla_seconds=60)
    # Alice serves no queue, so nothing is offered to her: the chat stays under Waiting.
    AgentProfile.objects.get(user__username="alice").queues.clear()
    customer_ctx = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport={"width": 1400, "height": 860})
    try:
        tab = watch_errors(customer_ctx.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        first = "Do you deliver to Lyon?"
        write(tab, first)
        expect(
            e2e.widget(tab).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
        conversation = Conversation.objects.get()
        Customer.objects.filter(pk=conversation.customer_id).update(
            name=f"Zoé {XSS}", email="zoe@example.com", external_id="u-881", locale="fr-FR"
        )
        visit = dict(conversation.visit)  # the widget's real user agent, from its socket
        visit.update(page_url="javascript:window.__xss=3", referrer="https://mail.example/")
        Conversation.objects.filter(pk=conversation.pk).update(visit=visit)
        Note.objects.create(
            conversation=conversation,
            kind="handoff",
            author_name="Parley bot",
            body="Handed.",
            data={"collected": {"order_number": "DIY-1", "comment": XSS}},
        )
        past = _past_conversation(conversation.customer, f"An old question {XSS}")
        CsatRating.objects.create(
            conversation=past, site=past.site, score=2, comment=f"Too slow {XSS}"
        )

        console = watch_errors(agent.new_page(), errors)
        console.clock.install()
        login(console, base)
        waiting = console.get_by_test_id("waiting-list").get_by_test_id("conversation-item")
        expect(waiting).to_have_count(1)
        sla = waiting.get_by_test_id("conversation-sla")
        expect(sla).to_have_attribute("data-level", "ok")
        console.clock.fast_forward("01:05")  # past the 60 s reply target: amber
        expect(sla).to_have_attribute("data-level", "warn")
        console.clock.fast_forward("01:00")  # past twice the target: red
        expect(sla).to_have_attribute("data-level", "late")

        waiting.get_by_test_id("conversation-take").click()
        mine = console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        expect(mine).to_have_count(1)
        expect(mine.get_by_test_id("conversation-sla")).to_have_attribute("data-level", "late")
        context = console.get_by_test_id("context")
        expect(context).to_be_visible()
        expect(context.get_by_test_id("context-name")).to_have_text(f"Zoé {XSS}")
        expect(context.get_by_test_id("context-email")).to_have_text("zoe@example.com")
        expect(context.get_by_test_id("context-external-id")).to_have_text("u-881")
        expect(context.get_by_test_id("context-locale")).to_have_text("fr-FR")
        expect(context.get_by_test_id("context-browser")).to_contain_text("Chrome")
        expect(context.get_by_test_id("context-device")).to_have_text("Desktop")
        # A javascript: URL is never a link.
        expect(context.get_by_test_id("context-page")).to_have_text("javascript:window.__xss=3")
        expect(context.get_by_test_id("context-page").locator("a")).to_have_count(0)
        expect(context.get_by_test_id("context-referrer").locator("a")).to_have_attribute(
            "href", "https://mail.example/"
        )
        collected = context.get_by_test_id("context-collected")
        expect(collected.locator("tr")).to_have_count(2)
        expect(collected).to_contain_text("DIY-1")
        expect(collected.locator("tr", has_text="comment").locator("td")).to_have_text(XSS)
        timeline = context.get_by_test_id("context-timeline-item")
        expect(timeline.first).to_be_visible()
        expect(context.get_by_test_id("context-timeline")).to_contain_text("assigned")

        # The agent answers: the timer stops.
        composer = console.get_by_test_id("composer-input")
        composer.fill("Yes, in two days.")
        composer.press("Enter")
        expect(mine.get_by_test_id("conversation-sla")).to_be_hidden()

        # A past conversation, opened read-only.
        context.get_by_test_id("context-past-open").click()
        dialog = console.get_by_test_id("past-dialog")
        expect(dialog).to_be_visible()
        # Each line with its time; the customer's rating after them.
        expect(dialog.get_by_test_id("past-message")).to_have_text(
            [
                re.compile(
                    r"^\d{1,2}:\d\d(\s?[AP]M)?\s+"
                    + re.escape(f"Zoé {XSS}: An old question {XSS}")
                    + "$"
                )
            ]
        )
        expect(dialog.get_by_test_id("past-csat")).to_have_text(
            f"Rated 2/5 by the customer: “Too slow {XSS}”"
        )
        expect(dialog.locator("textarea, input:not([type=hidden])")).to_have_count(0)
        console.screenshot(path="/tmp/parley_e2e_console_context.png")
        dialog.get_by_test_id("past-close").click()
        expect(dialog).to_be_hidden()

        expect(console.locator("img")).to_have_count(0)
        assert console.evaluate("window.__xss") is None
    finally:
        customer_ctx.close()
        agent.close()
    assert errors == []


def test_an_offered_conversation_is_not_listed_again_under_waiting(asgi_server, browser, shop):
    # Waiting, then offered (alice comes back), then waiting again (she goes away): at
    # every moment the conversation is listed once. The offer card used to be drawn at
    # once and the Waiting list on the next animation frame, so for a frame (longer on a
    # loaded machine) it was listed twice.
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script(LISTED_ONCE)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        presence = console.get_by_test_id("presence")
        console.get_by_test_id("presence-select").select_option("away")
        expect(presence).to_have_attribute("data-status", "away")
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Hello?")
        waiting = console.get_by_test_id("waiting-list").get_by_test_id("conversation-item")
        offer = console.get_by_test_id("offer")
        expect(waiting).to_have_count(1)
        expect(waiting.get_by_test_id("conversation-preview")).to_have_text("Hello?")

        console.get_by_test_id("presence-select").select_option("online")
        expect(offer).to_have_count(1)
        expect(offer.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
        expect(offer.get_by_test_id("conversation-preview")).to_have_text("Hello?")
        expect(waiting).to_have_count(0)
        expect(console.get_by_test_id("conversation-take")).to_have_count(0)

        console.get_by_test_id("presence-select").select_option("away")  # the offer is revoked
        expect(waiting).to_have_count(1)
        expect(offer).to_have_count(0)

        console.get_by_test_id("presence-select").select_option("online")
        offer.get_by_test_id("offer-accept").click()
        expect(
            console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        ).to_have_count(1)
        expect(offer).to_have_count(0)
        assert listed_twice(console) == []
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_a_transfer_with_its_note_seen_on_both_sides(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from agents.models import AgentProfile

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    hashed = PBKDF2PasswordHasher().encode(e2e.PASSWORD, PBKDF2PasswordHasher().salt())
    bob = get_user_model().objects.create(
        username="bob", first_name="Bob", last_name="Stone", password=hashed
    )
    AgentProfile.objects.create(user=bob, display_name="Bob", languages=["en"])
    # Bob serves no queue: nothing is offered to him, he gets the chat only by transfer.
    contexts = [browser.new_context(viewport={"width": 1400, "height": 860}) for _ in range(3)]
    try:
        tab = watch_errors(contexts[0].new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "I need help with an invoice.")
        alice = watch_errors(contexts[1].new_page(), errors)
        login(alice, base)
        bobs = watch_errors(contexts[2].new_page(), errors)
        login(bobs, base, username="bob")
        alice.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        alice.get_by_test_id("chat-transfer").click()
        dialog = alice.get_by_test_id("transfer-dialog")
        expect(dialog).to_be_visible()
        bob_choice = dialog.locator("li", has_text="Bob")
        expect(bob_choice).to_contain_text("online · 0/3 chats")
        expect(dialog.get_by_test_id("transfer-queue")).to_have_count(1)
        bob_choice.get_by_test_id("transfer-agent").check()
        note = f"Invoice 42 is disputed {XSS}"
        dialog.get_by_test_id("transfer-note").fill(note)
        alice.screenshot(path="/tmp/parley_e2e_console_transfer.png")
        dialog.get_by_test_id("transfer-submit").click()
        expect(dialog).to_be_hidden()
        expect(alice.get_by_test_id("mine-list").get_by_test_id("conversation-item")).to_have_count(
            0
        )

        # Bob: the chat is his, the note is beside the transcript, and a toast said so.
        expect(bobs.get_by_test_id("toast")).to_contain_text("passed you the conversation")
        expect(bobs.get_by_test_id("mine-list").get_by_test_id("conversation-item")).to_have_count(
            1
        )
        bobs.get_by_test_id("mine-list").get_by_test_id("conversation-open").click()
        received = bobs.get_by_test_id("transcript-note")
        expect(received.get_by_test_id("transcript-note-body")).to_have_text(note)
        expect(received).to_contain_text("Transfer note")
        expect(bobs.get_by_test_id("transcript")).to_contain_text(
            "Alice transferred the conversation to Bob."
        )
        # The customer sees who has them now (in the widget's words), never the note.
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).to_contain_text(
            "Your conversation was transferred to Bob."
        )
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).not_to_contain_text("Invoice 42")
        for page in (alice, bobs):
            assert page.evaluate("window.__xss") is None
    finally:
        for context in contexts:
            context.close()
    assert errors == []


def test_canned_replies_with_their_variables(asgi_server, browser, shop):
    from agents.models import CannedReply
    from chat.models import Conversation

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    CannedReply.objects.create(
        shortcut="order",
        title="Order status",
        body="Hi {{customer.name}}, {{agent.name}} here: order {{order_number}} ships today.",
    )
    CannedReply.objects.create(shortcut="other-site", body="Not here", site=None, owner=None)
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport={"width": 1400, "height": 860})
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Where is my order?")
        expect(
            e2e.widget(tab).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
        conversation = Conversation.objects.get()
        conversation.customer.name = "Zoé"
        conversation.customer.save(update_fields=["name"])
        Note.objects.create(
            conversation=conversation, kind="handoff", author_name="Parley bot", body="Handed.",
            data={"collected": {"order_number": "DIY-77"}},
        )  # fmt: skip
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("context-name")).to_have_text("Zoé")

        # The agent adds one of her own in the console.
        console.get_by_test_id("canned-manage").click()
        dialog = console.get_by_test_id("canned-dialog")
        expect(dialog.get_by_test_id("canned-item")).to_have_count(2)
        dialog.get_by_test_id("canned-shortcut").fill("bye")
        dialog.get_by_test_id("canned-body").fill(f"Bye {{{{customer.name}}}} {XSS}")
        dialog.get_by_test_id("canned-save").click()
        expect(dialog.get_by_test_id("canned-item")).to_have_count(3)
        dialog.get_by_test_id("canned-shortcut").fill("bye")
        dialog.get_by_test_id("canned-body").fill("again")
        dialog.get_by_test_id("canned-save").click()
        expect(dialog.get_by_test_id("canned-error")).to_have_text("/bye already exists.")
        dialog.get_by_test_id("canned-close").click()

        composer = console.get_by_test_id("composer-input")
        composer.fill("/or")
        picker = console.get_by_test_id("canned-picker")
        expect(picker.get_by_test_id("canned-option")).to_have_count(1)
        expect(picker).to_contain_text("/order")
        composer.press("Enter")
        filled = "Hi Zoé, Alice here: order DIY-77 ships today."
        expect(composer).to_have_value(filled)
        composer.press("Enter")
        expect(transcript(tab, "parley-messages").last).to_have_text(filled)

        composer.fill("/by")
        expect(picker.get_by_test_id("canned-option")).to_have_count(1)
        composer.press("Tab")
        expect(composer).to_have_value(f"Bye Zoé {XSS}")
        composer.press("Escape")
        assert console.evaluate("window.__xss") is None

        # A variable nobody filled is selected, and the reply is not sent until it is.
        console.get_by_test_id("canned-manage").click()
        dialog.get_by_test_id("canned-shortcut").fill("track")
        dialog.get_by_test_id("canned-body").fill("Tracking: {{tracking}}. Thanks!")
        dialog.get_by_test_id("canned-save").click()
        expect(dialog.get_by_test_id("canned-item")).to_have_count(4)
        dialog.get_by_test_id("canned-close").click()
        composer.fill("/tr")
        expect(picker.get_by_test_id("canned-option")).to_have_count(1)
        composer.press("Enter")
        expect(composer).to_have_value("Tracking: {{tracking}}. Thanks!")
        composer.press("Enter")  # refused: the braces stay with the agent
        expect(console.get_by_test_id("toast")).to_contain_text("Fill in {{tracking}}")
        sent = transcript(tab, "parley-messages")
        expect(sent.last).to_have_text(filled)
        composer.press_sequentially("1Z999")  # typed over the selected variable
        expect(composer).to_have_value("Tracking: 1Z999. Thanks!")
        composer.press("Enter")
        expect(sent.last).to_have_text("Tracking: 1Z999. Thanks!")
    finally:
        customer.close()
        agent.close()
    assert CannedReply.objects.filter(owner__username="alice", shortcut="bye").exists()
    assert errors == []


NOTIFICATION_STUB = """
(() => {
  window.parleyNotes = [];
  window.parleyAsked = 0;
  window.Notification = class {
    static permission = "default";
    static requestPermission() {
      window.parleyAsked += 1;
      window.Notification.permission = "granted";
      return Promise.resolve("granted");
    }
    constructor(title, options) { window.parleyNotes.push({title, body: options.body}); }
  };
})();
"""


def test_two_tabs_share_one_socket_and_a_hidden_tab_notifies(asgi_server, browser, shop):
    from agents.models import AgentConnection

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    # bypass_csp: the test's wait_for_function predicates are strings, which CSP refuses.
    agent = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    agent.add_init_script(NOTIFICATION_STUB)
    try:
        first = watch_errors(agent.new_page(), errors)
        login(first, base)
        assert first.evaluate("window.parleySharedSocket") == "worker"
        first.get_by_test_id("chat-empty").click()  # a first click: permission asked, once
        first.wait_for_function("window.parleyAsked === 1")
        second = watch_errors(agent.new_page(), errors)
        second.goto(f"{base}/console/")
        expect(second.get_by_test_id("console-connection")).to_have_text("Connected")
        second.get_by_test_id("chat-empty").click()
        alice = AgentConnection.objects.filter(user__username="alice")
        # Two tabs, one server socket (each console socket registers one connection).
        expect(second.get_by_test_id("console-connection")).to_have_text("Connected")
        assert alice.count() == 1
        assert second.evaluate("window.parleyAsked") == 0  # asked once, in the first tab
        assert second.evaluate("window.parleySharedSocket") == "worker"

        set_tab_visible(first, False)
        set_tab_visible(second, False)
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Anyone there?")
        for page in (first, second):
            expect(page.get_by_test_id("offer")).to_have_count(1)  # both tabs show it
        first.wait_for_function("window.parleyNotes.length >= 1")
        note = first.evaluate("window.parleyNotes[0]")
        assert note["title"] == "New chat offer"
        assert first.evaluate("window.parleyTones") >= 1
        expect(first).to_have_title(re.compile(r"1 incoming"))

        # Accepted in one tab, gone from both; the chat opens in the tab that accepted.
        set_tab_visible(second, True)
        second.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        for page in (first, second):
            expect(page.get_by_test_id("offer")).to_have_count(0)
            expect(
                page.get_by_test_id("mine-list").get_by_test_id("conversation-item")
            ).to_have_count(1)
        write(tab, "My order is late.")
        first.wait_for_function(
            "window.parleyNotes.some((n) => n.body.includes('My order is late.'))"
        )
        assert alice.count() == 1
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_without_shared_worker_the_tabs_share_a_leader_tabs_socket(asgi_server, browser, shop):
    from agents.models import AgentConnection

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script("delete window.SharedWorker;")
    try:
        first = watch_errors(agent.new_page(), errors)
        login(first, base)
        assert first.evaluate("window.parleySharedSocket") == "leader"
        second = watch_errors(agent.new_page(), errors)
        second.goto(f"{base}/console/")
        expect(second.get_by_test_id("console-connection")).to_have_text("Connected")
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Hello from a browser without SharedWorker")
        for page in (first, second):
            expect(page.get_by_test_id("offer")).to_have_count(1)
        assert AgentConnection.objects.filter(user__username="alice").count() == 1

        # The leader's tab closes: the other tab takes over on a socket of its own (the
        # router offers the chat again once the console is back), and hears new words.
        first.close()
        write(tab, "Still there?")
        offer = second.get_by_test_id("offer")
        expect(offer.get_by_test_id("conversation-preview")).to_have_text("Still there?")
        offer.get_by_test_id("offer-accept").click()
        expect(
            second.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        ).to_have_count(1)
        expect(second.get_by_test_id("console-connection")).to_have_text("Connected")
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_keyboard_shortcuts_and_the_help_overlay(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        expect(console.get_by_test_id("agent-load")).to_have_text("0/3 chats")
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Keyboard please")
        expect(console.get_by_test_id("offer")).to_have_count(1)
        console.locator("body").press("?")
        help_dialog = console.get_by_test_id("help-dialog")
        expect(help_dialog).to_be_visible()
        expect(help_dialog.locator("li")).to_have_count(11)
        console.keyboard.press("Escape")
        expect(help_dialog).to_be_hidden()

        console.locator("body").press("a")  # accept the offer
        expect(console.get_by_test_id("offer")).to_have_count(0)
        expect(console.get_by_test_id("agent-load")).to_have_text("1/3 chats")
        composer = console.get_by_test_id("composer-input")
        composer.press("Escape")  # leave the reply box (focused on taking the chat)
        console.locator("body").press("r")
        expect(composer).to_be_focused()
        composer.fill("Typing r and e here types them.")
        expect(composer).to_have_value("Typing r and e here types them.")
        composer.fill("")
        composer.press("Escape")
        console.locator("body").press("n")  # an internal note
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        expect(composer).to_be_focused()
        composer.press("Escape")
        console.locator("body").press("r")  # focus only: a note never turns into a reply
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        console.get_by_test_id("composer-mode-reply").click()
        composer.press("Escape")
        console.locator("body").press("t")  # transfer
        expect(console.get_by_test_id("transfer-dialog")).to_be_visible()
        console.keyboard.press("Escape")
        expect(console.get_by_test_id("transfer-dialog")).to_be_hidden()
        console.locator("body").press("e")  # resolve
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved")

        # Away, with a reason.
        console.get_by_test_id("presence-select").select_option("away:lunch")
        presence = console.get_by_test_id("presence")
        expect(presence).to_have_attribute("data-status", "away")
        expect(presence).to_have_attribute("data-away-reason", "lunch")
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_search_by_customer_and_text(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, f"Parcel DIY-4242 missing {XSS}")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        console.get_by_test_id("chat-resolve").click()
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved")
        console.get_by_test_id("search-input").fill("diy-4242")
        result = console.get_by_test_id("search-result")
        expect(result).to_have_count(1)
        expect(result.get_by_test_id("search-match")).to_have_text(f"Parcel DIY-4242 missing {XSS}")
        expect(console.get_by_test_id("mine-list")).to_be_hidden()
        console.get_by_test_id("search-input").fill("nothing like it")
        expect(console.get_by_test_id("search-empty")).to_be_visible()
        console.get_by_test_id("search-input").fill("diy-4242")
        result.get_by_role("button").click()
        expect(console.get_by_test_id("chat-title")).to_contain_text("Visitor #")
        console.get_by_test_id("search-input").fill("")
        expect(console.get_by_test_id("mine-list")).to_be_visible()
        assert console.evaluate("window.__xss") is None
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_a_late_reply_nudges_and_a_silent_customer_is_asked_in_one_click(
    asgi_server, browser, shop
):
    from routing.models import Queue

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    Queue.objects.filter(name="General").update(sla_seconds=2, silence_nudge_seconds=3)
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Hello, I need help")
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        # Unanswered past the 2 s target: amber, a nudge; past 4 s: red, another.
        timer = console.get_by_test_id("mine-list").get_by_test_id("conversation-sla")
        expect(timer).to_have_attribute("data-level", "late")
        expect(console.get_by_test_id("toast")).to_contain_text("reply target")
        composer = console.get_by_test_id("composer-input")
        composer.fill("Hi! Looking into it.")
        composer.press("Enter")
        expect(timer).to_be_hidden()
        # The customer goes quiet: after 3 s the agent may ask in one click.
        still = console.get_by_test_id("chat-still-there")
        expect(still).to_be_visible()
        still.click()
        expect(transcript(tab, "parley-messages").last).to_have_text("Are you still there?")
        expect(still).to_be_hidden()
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_suggestions_appear_as_the_agent_types(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model

    from agents.models import AgentProfile
    from chat.models import Conversation, Customer, Participant

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    alice = get_user_model().objects.get(username="alice")
    AgentProfile.objects.filter(user=alice).update(max_concurrent_chats=5)
    habit = f"Your parcel is on its way and arrives tomorrow {XSS}"
    for _ in range(2):  # the site's history: the same reply in two past chats
        past = Conversation.objects.create(
            site=shop, customer=Customer.objects.create(site=shop), status="resolved"
        )
        sender = Participant.objects.create(conversation=past, role="agent", user=alice)
        Message.objects.create(conversation=past, seq=1, sender=sender, body=habit)
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Where is my parcel?")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        composer = console.get_by_test_id("composer-input")
        expect(composer).to_be_visible()  # press_sequentially does not wait for it
        composer.press_sequentially("your parc")
        suggestion = console.get_by_test_id("suggestion")
        expect(suggestion).to_have_count(1)
        expect(suggestion).to_have_text(habit)
        composer.press("Tab")
        expect(composer).to_have_value(habit)
        expect(console.get_by_test_id("suggestions")).to_be_hidden()
        composer.press("Enter")
        expect(transcript(tab, "parley-messages").last).to_have_text(habit)
        assert console.evaluate("window.__xss") is None
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_an_invited_second_agent_chats_then_leaves(asgi_server, browser, shop):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from agents.models import AgentProfile

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    hashed = PBKDF2PasswordHasher().encode(e2e.PASSWORD, PBKDF2PasswordHasher().salt())
    bob = get_user_model().objects.create(
        username="bob", first_name="Bob", last_name="Stone", password=hashed
    )
    AgentProfile.objects.create(user=bob, display_name="Bob", languages=["en"])
    contexts = [browser.new_context(viewport={"width": 1400, "height": 860}) for _ in range(3)]
    try:
        tab = watch_errors(contexts[0].new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "A billing and a delivery question.")
        alice = watch_errors(contexts[1].new_page(), errors)
        login(alice, base)
        bobs = watch_errors(contexts[2].new_page(), errors)
        login(bobs, base, username="bob")
        alice.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        alice.get_by_test_id("chat-invite").click()
        dialog = alice.get_by_test_id("transfer-dialog")
        expect(dialog.get_by_test_id("transfer-queue-section")).to_be_hidden()
        dialog.locator("li", has_text="Bob").get_by_test_id("transfer-agent").check()
        dialog.get_by_test_id("transfer-submit").click()
        expect(dialog).to_be_hidden()
        messages = e2e.widget(tab).get_by_test_id("parley-messages")
        expect(messages).to_contain_text("Bob joined the conversation.")

        mine = bobs.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        expect(mine).to_have_count(1)
        mine.get_by_test_id("conversation-open").click()
        composer = bobs.get_by_test_id("composer-input")
        expect(composer).to_be_visible()
        expect(bobs.get_by_test_id("chat-resolve")).to_be_hidden()  # the assignee's
        composer.fill("Bob from billing here.")
        composer.press("Enter")
        expect(transcript(tab, "parley-messages").last).to_have_text("Bob from billing here.")
        expect(transcript(alice, "transcript").last).to_have_text("Bob from billing here.")
        e2e.widget(tab).get_by_test_id("parley-input").fill("Thanks Bob!")
        expect(bobs.get_by_test_id("chat-typing")).to_contain_text("is typing")
        e2e.widget(tab).get_by_test_id("parley-input").press("Enter")
        expect(transcript(bobs, "transcript").last).to_have_text("Thanks Bob!")

        bobs.get_by_test_id("chat-leave").click()
        expect(messages).to_contain_text("Bob left the conversation.")
        expect(mine).to_have_count(0)
        expect(alice.get_by_test_id("transcript")).to_contain_text("Bob left")
    finally:
        for context in contexts:
            context.close()
    assert errors == []


def test_a_dropped_socket_shows_the_reconnect_banner_then_what_was_caught_up(
    asgi_server, browser, shop
):
    """The console's own socket (no SharedWorker, so the page holds it) runs through
    Playwright's WebSocket routing, which lets the test drop it as a network would."""
    expect.set_options(timeout=20_000)
    errors: list[str] = []
    base = asgi_server.url
    routes = []

    def forward(ws):
        routes.append(ws)
        ws.connect_to_server()

    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script("delete window.SharedWorker;")
    try:
        console = watch_errors(agent.new_page(), errors)
        console.route_web_socket(re.compile(r".*/ws/agent/.*"), forward)
        login(console, base)
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Hello, is anyone there?")
        offer = console.get_by_test_id("offer")
        expect(offer).to_have_count(1)
        banner = console.get_by_test_id("resync-banner")
        expect(banner).to_be_hidden()  # the first connection has nothing to resync

        routes[-1].close(code=4000, reason="network drop")
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-state", "offline")
        expect(banner).to_contain_text("Reconnecting")
        # The client reconnects by itself (a new routed socket) and says what it resynced.
        # The last console's drop handed the offer back to the queue; the router offers it
        # again once the agent is back.
        expect(banner).to_have_attribute("data-state", "resynced")
        expect(banner).to_contain_text("Reconnected and up to date: 0 chats of yours, 1 waiting")
        assert len(routes) >= 2
        expect(console.get_by_test_id("offer")).to_have_count(1)
    finally:
        customer.close()
        agent.close()
    assert errors == []
