"""The console's composer belongs to the chat on screen, in a real Chromium: each chat keeps
its draft (across a reload too) and its Reply/Internal note mode, a file picked while
writing a note never reaches the customer, "Are you still there?" is only offered when the
customer owes the answer, and Take is off while every chat slot is in use. Helpers and
fixtures come from test_chat_e2e."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Customer, Message, Note
from tests.browser import test_chat_e2e as e2e
from tests.browser.test_chat_e2e import (
    VIEWPORT,
    login,
    open_widget,
    transcript,
    watch_errors,
    write,
)

pytestmark = pytest.mark.browser
shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it

NO_FILES = "Attachments cannot be added to internal notes."


def _two_waiting(browser, base, shop, errors, names=("Ann Archer", "Ben Brook")):
    """Two customers who wrote and wait (alice serves no queue: nothing is offered, both
    stay under Waiting); returns their contexts, pages and conversations, oldest first."""
    from agents.models import AgentProfile

    AgentProfile.objects.get(user__username="alice").queues.clear()
    contexts, tabs = [], []
    for name in names:
        ctx = browser.new_context(viewport=VIEWPORT)
        contexts.append(ctx)
        tab = watch_errors(ctx.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, f"Hello, {name} here.")
        tabs.append(tab)
        expect(
            e2e.widget(tab).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
    convs = list(Conversation.objects.order_by("id"))
    assert len(convs) == 2
    for conv, name in zip(convs, names, strict=True):
        Customer.objects.filter(pk=conv.customer_id).update(name=name)
    return contexts, tabs, convs


def _item(console, testid: str, conv):
    return console.get_by_test_id(testid).locator(f"li[data-conversation='{conv.pk}']")


def _open(console, conv, name: str) -> None:
    _item(console, "mine-list", conv).get_by_test_id("conversation-open").click()
    expect(console.get_by_test_id("chat-title")).to_have_text(name)


def _take(console, conv, name: str) -> None:
    _item(console, "waiting-list", conv).get_by_test_id("conversation-take").click()
    expect(_item(console, "mine-list", conv)).to_have_count(1)
    expect(console.get_by_test_id("chat-title")).to_have_text(name)


def _expect_reply_mode(console) -> None:
    expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "reply")
    expect(console.get_by_test_id("composer-mode-reply")).to_have_attribute("aria-pressed", "true")
    expect(console.get_by_test_id("composer-send")).to_have_text("Send")


def test_each_chat_keeps_its_draft_and_its_mode(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    agent = browser.new_context(viewport={"width": 1400, "height": 860})
    contexts = [agent]
    try:
        customers, (ann_tab, ben_tab), (ann, ben) = _two_waiting(browser, base, shop, errors)
        contexts += customers
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        _take(console, ann, "Ann Archer")
        _take(console, ben, "Ben Brook")
        composer = console.get_by_test_id("composer-input")

        # Text typed for Ann stays with Ann: Ben's chat opens with an empty composer.
        for_ann = "Ann, your parcel left the warehouse today."
        for_ben = "Ben, the refund is on its way."
        _open(console, ann, "Ann Archer")
        composer.fill(for_ann)
        _open(console, ben, "Ben Brook")
        expect(composer).to_have_value("")
        composer.fill(for_ben)
        _open(console, ann, "Ann Archer")
        expect(composer).to_have_value(for_ann)

        # A reload keeps both drafts.
        console.reload()
        expect(console.get_by_test_id("chat-title")).to_have_text("Ann Archer")
        expect(composer).to_have_value(for_ann)
        _open(console, ben, "Ben Brook")
        expect(composer).to_have_value(for_ben)

        # Enter sends Ben's draft to Ben, and clears it; Ann's stays.
        composer.press("Enter")
        expect(transcript(ben_tab, "parley-messages").last).to_have_text(for_ben)
        _open(console, ann, "Ann Archer")
        expect(composer).to_have_value(for_ann)
        _open(console, ben, "Ben Brook")
        expect(composer).to_have_value("")

        # A note saved in Ben's chat does not leave Ann's in note mode.
        console.get_by_test_id("composer-mode-note").click()
        composer.fill("Ben was charged twice.")
        composer.press("Enter")
        expect(console.get_by_test_id("transcript-note")).to_have_count(1)
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        _open(console, ann, "Ann Archer")
        _expect_reply_mode(console)
        expect(composer).to_have_value(for_ann)
        composer.press("Enter")
        expect(transcript(ann_tab, "parley-messages").last).to_have_text(for_ann)

        # An unsent note comes back as a note; the chat with none opens in Reply.
        console.get_by_test_id("composer-mode-note").click()
        composer.fill("Half a note")
        _open(console, ben, "Ben Brook")
        _expect_reply_mode(console)
        expect(composer).to_have_value("")
        _open(console, ann, "Ann Archer")
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        expect(composer).to_have_value("Half a note")

        messages = e2e.widget(ann_tab).get_by_test_id("parley-messages")
        expect(messages).not_to_contain_text("refund")
        expect(e2e.widget(ben_tab).get_by_test_id("parley-messages")).not_to_contain_text("parcel")
    finally:
        for context in contexts:
            context.close()
    assert list(Message.objects.filter(body=for_ann).values_list("conversation", flat=True)) == [
        ann.pk
    ]
    assert list(Message.objects.filter(body=for_ben).values_list("conversation", flat=True)) == [
        ben.pk
    ]
    assert list(Note.objects.values_list("conversation", "body")) == [
        (ben.pk, "Ben was charged twice.")
    ]
    assert errors == []


def test_a_file_picked_while_writing_a_note_never_reaches_the_customer(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Where is my order?")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        attach = console.get_by_test_id("composer-attach")
        expect(attach).to_be_enabled()

        console.get_by_test_id("composer-mode-note").click()
        expect(attach).to_be_disabled()
        expect(attach).to_have_attribute("title", NO_FILES)
        # Picked anyway (the hidden file input): refused, not sent as a message.
        console.get_by_test_id("composer-file").set_input_files(
            {"name": "internal-audit.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"}
        )
        expect(console.get_by_test_id("toast")).to_have_text(NO_FILES)

        # Back in Reply the paperclip works; the reply's file is the only one the customer gets.
        console.get_by_test_id("composer-mode-reply").click()
        expect(attach).to_be_enabled()
        expect(attach).to_have_attribute("title", "Attach files")
        console.get_by_test_id("composer-file").set_input_files(
            {"name": "returns-label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"}
        )
        expect(console.get_by_test_id("composer-staged-file")).to_have_count(1)
        console.get_by_test_id("composer-send").click()
        files = (
            e2e.widget(tab)
            .get_by_test_id("parley-messages")
            .get_by_test_id("parley-attachment-file")
        )
        expect(files.last).to_contain_text("returns-label.pdf")
        expect(files).to_have_count(1)
        expect(console.get_by_test_id("transcript-attachment-file")).to_have_count(1)
    finally:
        customer.close()
        agent.close()
    from chat.attachment_models import Attachment

    # Not even uploaded; the reply's file went out with a message.
    assert list(Attachment.objects.values_list("name", flat=True)) == ["returns-label.pdf"]
    assert Attachment.objects.get().message_id is not None
    assert errors == []


def test_still_there_is_offered_only_when_the_customer_owes_the_answer(asgi_server, browser, shop):
    from routing.models import Queue

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    Queue.objects.filter(name="General").update(sla_seconds=1, silence_nudge_seconds=1)
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Hello, I need help")
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        timer = console.get_by_test_id("mine-list").get_by_test_id("conversation-sla")
        still = console.get_by_test_id("chat-still-there")
        # Unanswered for twice the 1 s target (red), past the 1 s silence nudge: the customer
        # waits for us, so the nudge (and the customer-left close it starts) is not offered.
        # The timer and the button are painted in the same tick.
        expect(timer).to_have_attribute("data-level", "late")
        expect(still).to_be_hidden()

        composer = console.get_by_test_id("composer-input")
        composer.fill("Hi! Which order is it?")
        composer.press("Enter")
        expect(timer).to_be_hidden()
        expect(still).to_be_visible()  # now they owe the answer
        still.click()
        expect(transcript(tab, "parley-messages").last).to_have_text("Are you still there?")
        expect(still).to_be_hidden()

        write(tab, "Yes, sorry: order 1234.")
        expect(transcript(console, "transcript").last).to_have_text("Yes, sorry: order 1234.")
        expect(timer).to_have_attribute("data-level", "late")
        expect(still).to_be_hidden()
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_take_is_off_while_every_chat_slot_is_in_use(asgi_server, browser, shop):
    from agents.models import AgentPresence, AgentProfile

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    AgentProfile.objects.filter(user__username="alice").update(max_concurrent_chats=2)
    agent = browser.new_context(viewport={"width": 1400, "height": 860})
    contexts = [agent]
    try:
        customers, _tabs, (ann, ben) = _two_waiting(browser, base, shop, errors)
        contexts += customers
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        load = console.get_by_test_id("agent-load")
        expect(load).to_have_text("0/2 chats")
        take_ann = _item(console, "waiting-list", ann).get_by_test_id("conversation-take")
        take_ben = _item(console, "waiting-list", ben).get_by_test_id("conversation-take")
        expect(take_ann).to_be_enabled()

        # The server refuses (its capacity changed behind this console's back): the toast
        # speaks to the agent, not about them.
        AgentPresence.objects.filter(user__username="alice").update(capacity=0)
        take_ann.click()
        toast = console.get_by_test_id("toast")
        expect(toast).to_contain_text("You have no free chat slot")
        expect(toast).not_to_contain_text("Alice")

        # One slot: once it is used, Take is off and says why, in the list and the chat head.
        AgentProfile.objects.filter(user__username="alice").update(max_concurrent_chats=1)
        console.reload()  # the console's connect copies the profile's capacity
        expect(load).to_have_text("0/1 chats")
        expect(take_ben).to_be_enabled()
        _take(console, ann, "Ann Archer")
        expect(load).to_have_text("1/1 chats")
        expect(take_ben).to_be_disabled()
        expect(take_ben).to_have_attribute(
            "title", "All your chat slots are in use: resolve or transfer a chat to take another."
        )
        _item(console, "waiting-list", ben).get_by_test_id("conversation-open").click()
        expect(console.get_by_test_id("chat-title")).to_have_text("Ben Brook")
        head_take = console.get_by_test_id("chat-take")
        expect(head_take).to_be_visible()
        expect(head_take).to_be_disabled()
        # A click anyway (aria-disabled keeps it focusable) explains and asks nothing.
        take_ben.click(force=True)
        expect(toast).to_contain_text("All your chat slots are in use")
        expect(_item(console, "waiting-list", ben)).to_have_count(1)
    finally:
        for context in contexts:
            context.close()
    assert Conversation.objects.get(pk=ben.pk).status == "queued"
    assert errors == []
