"""End to end in a real Chromium: a customer on the demo shop and an agent in the console
talk through the real ASGI app (daphne, PostgreSQL, Redis).

Every wait is one of Playwright's auto-retrying expect() assertions: no sleeps, and
nothing about speed is asserted.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Frame, FrameLocator, Page, expect

from agents.models import AgentProfile
from chat.models import Conversation, Message, Site
from routing.models import Queue

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-e2e"
SCREENSHOTS = "/tmp/parley_e2e_{}.png"
VIEWPORT = {"width": 1280, "height": 840}
JOINED = "Alice joined the conversation."


@pytest.fixture
def shop(transactional_db):
    queue = Queue.objects.create(name="General")
    site = Site.objects.create(name="Demo DIY shop", key="e2e-diy-shop", default_queue=queue)
    # The server runs with the production hashers, not the test suite's fast MD5 one.
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    alice = get_user_model().objects.create(
        username="alice", first_name="Alice", last_name="Martin", password=hashed
    )
    profile = AgentProfile.objects.create(user=alice, display_name="Alice", languages=["en"])
    profile.queues.add(queue)
    return site


def wrap_pushes(decide: str) -> str:
    """An init script that wraps the page's WebSocket: for every frame the server sends,
    the JavaScript in ``decide`` sees ``frame`` (parsed, or null) and calls ``deliver()``
    as many times as the page should receive it (none: the push is lost)."""
    return """
(() => {
  window.parleyOwnSocket = true;  // the console keeps its own socket, so this wrapper sees it
  const Native = window.WebSocket;
  window.WebSocket = class WrappedWebSocket extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      let handler = null;
      Object.defineProperty(this, "onmessage", {
        configurable: true,
        get: () => handler,
        set: (fn) => { handler = fn; },
      });
      this.addEventListener("message", (ev) => {
        if (!handler) return;
        let frame = null;
        try { frame = JSON.parse(ev.data); } catch (e) { /* not ours to judge */ }
        const deliver = () => handler.call(this, new MessageEvent("message", {data: ev.data}));
        DECIDE
      });
    }
  };
})();
""".replace("DECIDE", decide)


# Pushes are hints (docs/protocol.md): the clients must cope when the layer delivers a
# message.new twice or not at all. Every message.new arrives twice and the one with seq 2
# never arrives; only dedup by seq and resume-on-gap (or on the conversation.updated that
# carries last_seq) can then show the right transcript.
FLAKY_PUSHES = wrap_pushes("""
        if (frame && frame.type === "message.new") {
          if (frame.message.seq === 2) return;  // lost
          deliver();  // and duplicated
        }
        deliver();
""")

# Once the page sets window.parleyDeaf, every push is lost: only what the client asks for
# (hello, pong, the answers to its own frames, resume's batches) still reaches it.
DEAF_PUSHES = wrap_pushes("""
        const asked = ["hello", "pong", "messages.batch", "message.accepted", "ack", "error"];
        if (window.parleyDeaf && frame && !asked.includes(frame.type)) return;
        deliver();
""")


# The console lists a conversation once: as an offer card, or under Waiting, or under
# Mine. A MutationObserver runs after every task that changed the page, so it sees each
# state the agent could see (and a locator could find): any conversation listed in two
# places at once is recorded in window.parleyListedTwice.
LISTED_ONCE = """
(() => {
  window.parleyListedTwice = [];
  const ids = (sel) => Array.from(document.querySelectorAll(sel), (li) => li.dataset.conversation);
  new MutationObserver(() => {
    const offered = new Set(ids("[data-testid=offers-list] [data-testid=offer]"));
    const listed = ids("[data-testid=waiting-list] li, [data-testid=mine-list] li");
    for (const id of listed.filter((id) => offered.has(id))) window.parleyListedTwice.push(id);
  }).observe(document, {childList: true, subtree: true});
})();
"""


def listed_twice(page: Page) -> list[str]:
    """The conversations the page has shown as an offer and in a list at the same time."""
    return page.evaluate("window.parleyListedTwice")


def watch_errors(page: Page, errors: list[str]) -> Page:
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on(
        "console",
        lambda msg: msg.type == "error" and errors.append(f"{page.url}: {msg.text}"),
    )
    page.on(
        "response",
        lambda resp: resp.status >= 400 and errors.append(f"{resp.status} {resp.url}"),
    )
    return page


def widget(page: Page) -> FrameLocator:
    """The customer widget: its frame on Parley's origin, inside the host page."""
    return page.frame_locator("[data-testid=parley-frame]")


def widget_frame(page: Page) -> Frame:
    """The widget's frame, to run script in it (its socket, its storage)."""
    frame = page.locator("[data-testid=parley-frame]").element_handle().content_frame()
    assert frame is not None
    return frame


def transcript(page: Page, testid: str):
    """The transcript in order: event lines and message bodies, as the reader sees them."""
    scope = widget(page) if testid.startswith("parley-") else page
    return scope.get_by_test_id(testid).locator(
        "li[data-kind=event], [data-testid$=-message-body], [data-testid=transcript-body]"
    )


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    launcher = page.get_by_test_id("parley-launcher")
    expect(launcher).to_be_visible()
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    expect(widget(page).get_by_test_id("parley-panel")).to_be_visible()


def stored_first(page: Page) -> None:
    """Wait until the customer's first message is stored (seq 1, sent). With no bot, the
    widget's conversation.start queues the chat and its first message follows one round
    trip later: on a loaded host (CI: a pong every 2 s carried the offer, accepted at
    once) the agent accepted in between, and "Alice joined" came before the customer's
    message, in the server's order as on screen. An agent reads the message first."""
    expect(
        widget(page).get_by_test_id("parley-messages").locator("li[data-seq='1']")
    ).to_have_attribute("data-status", "sent")


def set_tab_visible(page: Page, visible: bool) -> None:
    """Play the agent switching to another tab and back (what visibilitychange reports)."""
    page.evaluate(
        """(visible) => {
            if (visible) delete document.visibilityState;
            else Object.defineProperty(document, "visibilityState",
                                       {configurable: true, get: () => "hidden"});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        visible,
    )


def login(page: Page, base: str, username: str = "alice") -> None:
    page.goto(f"{base}/console/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{base}/console/")
    expect(page.get_by_test_id("console-connection")).to_have_text("Connected")


# Sets the composer's text from the frame's own script, as typing it would (an input event).
PUT_TEXT = (
    "(el, text) => { el.value = text; el.dispatchEvent(new Event('input', {bubbles: true})); }"
)


def write(page: Page, text: str) -> None:
    """Type `text` in the widget's composer and send it with Enter, as a customer does.

    Playwright types by focusing the element from a script in its frame, then sending the
    keys to the page, and Chromium gives them to the frame it believes focused. On a host
    page of another site (tests/browser/test_widget_tabs.py) the widget is an
    out-of-process frame, whose news that it took focus reaches the browser on another
    channel than the keys: on a loaded machine the keys sometimes won that race and went
    to the host page (the frame saw no input event at all; that file failed in about 1
    run in 6 beside the fast tier). Clicking into the frame first, or bringing its tab to
    the front, did not close the race. So when the text is not in the composer, it is put
    there from the frame's script and sent with the Send button: a click goes where the
    pointer is, whatever the browser believes focused. Nothing can be sent twice: a late
    Enter in the emptied composer sends nothing."""
    box = widget(page).get_by_test_id("parley-input")
    send = widget(page).get_by_test_id("parley-send")
    box.fill(text)
    try:
        expect(box).to_have_value(text, timeout=5_000)
    except AssertionError:  # the keys went to the host page
        box.evaluate(PUT_TEXT, text)
        send.click()
    else:
        box.press("Enter")
        try:
            expect(box).to_have_value("", timeout=10_000)
        except AssertionError:  # so did the Enter
            send.click()
    expect(box).to_have_value("")


def test_customer_and_agent_chat_end_to_end(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    demo_url = f"{base}/demo/{shop.key}/"
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    customer.add_init_script(FLAKY_PUSHES)
    agent.add_init_script(FLAKY_PUSHES)
    try:
        # --- the customer opens the widget on the shop and writes ---------------------------
        tab1 = watch_errors(customer.new_page(), errors)
        tab1.goto(demo_url)
        expect(tab1.get_by_test_id("parley-launcher")).to_have_attribute("aria-label", "Open chat")
        tab1.screenshot(path=SCREENSHOTS.format("demo_closed"))
        open_widget(tab1, demo_url)
        first = "Hello! Is the cordless drill 18 V in stock?"
        write(tab1, first)
        mine1 = widget(tab1).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        expect(mine1).to_contain_text(first)
        expect(mine1).to_have_attribute("data-status", "sent")
        expect(widget(tab1).get_by_test_id("parley-status")).to_contain_text("Waiting for an agent")
        expect(widget(tab1).get_by_test_id("parley-queue")).to_be_visible()  # queue.position
        tab1.screenshot(path=SCREENSHOTS.format("demo_waiting"))

        # --- the agent logs in and sees the conversation waiting ----------------------------
        console = watch_errors(agent.new_page(), errors)
        console.goto(f"{base}/accounts/login/")
        expect(console.get_by_test_id("login-submit")).to_be_visible()
        console.screenshot(path=SCREENSHOTS.format("login"))
        login(console, base)
        # Alice is online, so the router offers it to her: an offer card with the
        # customer's words, and no second entry (and Take button) under Waiting.
        offer = console.get_by_test_id("offer")
        expect(offer).to_have_count(1)
        expect(offer.get_by_test_id("conversation-preview")).to_have_text(first)
        expect(
            console.get_by_test_id("waiting-list").get_by_test_id("conversation-item")
        ).to_have_count(0)
        console.screenshot(path=SCREENSHOTS.format("console_waiting"))

        # The agent accepts it while looking at another tab: delivered, not yet read.
        set_tab_visible(console, False)
        offer.get_by_test_id("offer-accept").click()
        expect(offer).to_have_count(0)
        mine = console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        expect(mine).to_have_count(1)
        expect(console.get_by_test_id("chat-title")).to_have_text(re.compile(r"Visitor #\d+"))
        expect(transcript(console, "transcript")).to_have_text([first, JOINED])
        expect(mine1).to_have_attribute("data-status", "delivered")
        expect(widget(tab1).get_by_test_id("parley-status")).to_have_text(
            "You are chatting with Alice"
        )
        expect(widget(tab1).get_by_test_id("parley-queue")).to_be_hidden()
        set_tab_visible(console, True)
        expect(mine1).to_have_attribute("data-status", "read")

        # --- the agent types and answers; the customer sees both live ------------------------
        answer = "Hi! Yes, we have 14 in stock in Lyon, and delivery takes two days."
        composer = console.get_by_test_id("composer-input")
        composer.fill(answer)
        expect(widget(tab1).get_by_test_id("parley-typing")).to_have_text("Alice is typing…")
        composer.press("Enter")
        expect(composer).to_have_value("")
        expect(transcript(tab1, "parley-messages")).to_have_text([first, JOINED, answer])
        expect(widget(tab1).get_by_test_id("parley-typing")).to_be_hidden()
        agent_msg = console.get_by_test_id("transcript").locator("li[data-seq='3']")
        expect(agent_msg).to_have_attribute("data-mine", "true")
        expect(agent_msg).to_have_attribute("data-status", "read")  # the panel is open
        tab1.screenshot(path=SCREENSHOTS.format("demo_widget"))

        # --- the customer answers back, the agent sees it (and the typing before it) --------
        reply = "Great, I'll order two then. Thank you!"
        widget(tab1).get_by_test_id("parley-input").fill(reply)
        expect(console.get_by_test_id("chat-typing")).to_contain_text("is typing…")
        widget(tab1).get_by_test_id("parley-input").press("Enter")
        everything = [first, JOINED, answer, reply]
        expect(transcript(console, "transcript")).to_have_text(everything)
        expect(
            widget(tab1).get_by_test_id("parley-messages").locator("li[data-seq='4']")
        ).to_have_attribute("data-status", "read")
        console.screenshot(path=SCREENSHOTS.format("console_chat"))

        # --- both reload: everything is still there, in order, once -------------------------
        tab1.reload()
        console.reload()
        expect(
            widget(tab1).get_by_test_id("parley-panel")
        ).to_be_visible()  # stays open in this tab
        expect(transcript(tab1, "parley-messages")).to_have_text(everything)
        expect(widget(tab1).get_by_test_id("parley-messages").locator("li.mine")).to_have_count(2)
        expect(widget(tab1).get_by_test_id("parley-pending").locator("li")).to_have_count(0)
        expect(console.get_by_test_id("console-connection")).to_have_text("Connected")
        expect(
            console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        ).to_have_count(1)
        expect(transcript(console, "transcript")).to_have_text(everything)
        expect(console.get_by_test_id("transcript").locator("li[data-seq='3']")).to_have_attribute(
            "data-status", "read"
        )

        # --- a second customer tab shows the same transcript and gets new messages ----------
        tab2 = watch_errors(customer.new_page(), errors)
        open_widget(tab2, demo_url + "?section=paint")  # another page of the shop
        expect(transcript(tab2, "parley-messages")).to_have_text(everything)
        more = "They are on their way: order DIY-4521 ships tomorrow."
        composer.fill(more)
        composer.press("Enter")
        everything.append(more)
        expect(transcript(tab1, "parley-messages")).to_have_text(everything)
        expect(transcript(tab2, "parley-messages")).to_have_text(everything)
        from_tab2 = "Perfect, see you soon."
        widget(tab2).get_by_test_id("parley-input").fill(from_tab2)
        widget(tab2).get_by_test_id("parley-input").press("Enter")
        everything.append(from_tab2)
        for page, testid in ((tab1, "parley-messages"), (tab2, "parley-messages")):
            expect(transcript(page, testid)).to_have_text(everything)
            expect(
                widget(page).get_by_test_id(testid).locator("li[data-seq='6']")
            ).to_have_attribute("data-mine", "true")
        expect(transcript(console, "transcript")).to_have_text(everything)
        # The customer answered after reading it: the agent's message shows as read.
        expect(console.get_by_test_id("transcript").locator("li[data-seq='5']")).to_have_attribute(
            "data-status", "read"
        )
        tab2.screenshot(path=SCREENSHOTS.format("demo_second_tab"))

        # --- the agent resolves; everyone sees it; the agent logs out -----------------------
        console.get_by_test_id("chat-resolve").click()
        everything.append("Conversation resolved by Alice.")
        expect(transcript(console, "transcript")).to_have_text(everything)
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved")
        expect(console.get_by_test_id("composer")).to_be_hidden()
        expect(console.get_by_test_id("composer-note")).to_have_text("This conversation is closed.")
        for page in (tab1, tab2):
            expect(transcript(page, "parley-messages")).to_have_text(everything)
            expect(widget(page).get_by_test_id("parley-status")).to_contain_text(
                "Conversation closed"
            )
        console.screenshot(path=SCREENSHOTS.format("console_resolved"))
        console.get_by_test_id("console-logout").click()
        expect(console).to_have_url(re.compile(r"/accounts/login/"))
    finally:
        customer.close()
        agent.close()

    # The database agrees: one conversation, seq 1..7 in order, nothing twice.
    conversation = Conversation.objects.get()
    assert conversation.status == Conversation.Status.RESOLVED
    rows = list(Message.objects.filter(conversation=conversation).values_list("seq", "body"))
    assert rows == list(enumerate(everything, start=1))
    assert errors == []


def test_messages_written_while_the_server_is_down_arrive_after_it_restarts(
    asgi_server, browser, shop
):
    expect.set_options(timeout=15_000)
    back = 45_000  # reconnecting waits out a jittered back-off
    exceptions: list[str] = []
    base = asgi_server.url
    demo_url = f"{base}/demo/{shop.key}/"
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script(LISTED_ONCE)
    try:
        tab = customer.new_page()
        tab.on("pageerror", lambda exc: exceptions.append(str(exc)))
        open_widget(tab, demo_url)
        first = "Do you cut timber to size?"
        write(tab, first)
        expect(
            widget(tab).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
        console = agent.new_page()
        console.on("pageerror", lambda exc: exceptions.append(str(exc)))
        login(console, base)
        # Offered to alice, or back under Waiting once the offer expired: listed once at
        # every moment (an offer that expires under load is re-offered). The locators are
        # strict, and LISTED_ONCE records any moment a locator could have caught it twice.
        listing = console.locator(
            "[data-testid=offers-list] [data-testid=offer],"
            " [data-testid=waiting-list] [data-testid=conversation-item]"
        )
        expect(listing).to_have_count(1)
        preview = listing.get_by_test_id("conversation-preview")
        expect(preview).to_have_text(first)

        asgi_server.stop()
        expect(widget(tab).get_by_test_id("parley-banner")).to_contain_text("Reconnecting")
        expect(console.get_by_test_id("console-connection")).to_have_text("Reconnecting…")
        offline = "Hello? My connection dropped, I need 2 m planks."
        write(tab, offline)
        pending = widget(tab).get_by_test_id("parley-pending").locator("li")
        expect(pending).to_have_attribute("data-status", "sending")

        asgi_server.start()
        expect(transcript(tab, "parley-messages")).to_have_text([first, offline], timeout=back)
        expect(pending).to_have_count(0)
        expect(widget(tab).get_by_test_id("parley-banner")).to_be_hidden()
        expect(console.get_by_test_id("console-connection")).to_have_text("Connected", timeout=back)
        expect(listing).to_have_count(1)
        expect(preview).to_have_text(offline)

        tab.reload()
        expect(transcript(tab, "parley-messages")).to_have_text([first, offline])
        assert listed_twice(console) == []
    finally:
        customer.close()
        agent.close()
    rows = list(Message.objects.values_list("seq", "body").order_by("seq"))
    assert rows == [(1, first), (2, offline)]
    assert exceptions == []


@pytest.mark.parametrize("server_env", [{"HEARTBEAT_INTERVAL": "2"}])
def test_a_reply_whose_push_was_lost_arrives_with_the_next_heartbeat(
    asgi_server, browser, shop, server_env
):
    # A message.new never reaches the widget (then the console) and nothing else happens
    # in the conversation: the pong's last_seq shows the gap, and resume fetches it.
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    customer.add_init_script(DEAF_PUSHES)
    agent.add_init_script(DEAF_PUSHES)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        first = "Is anyone there?"
        write(tab, first)
        stored_first(tab)
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(transcript(tab, "parley-messages")).to_have_text([first, JOINED])

        widget_frame(tab).evaluate("window.parleyDeaf = true")
        answer = "Yes, I am here. How can I help?"
        console.get_by_test_id("composer-input").fill(answer)
        console.get_by_test_id("composer-input").press("Enter")
        expect(transcript(console, "transcript")).to_have_text([first, JOINED, answer])
        expect(transcript(tab, "parley-messages")).to_have_text([first, JOINED, answer])

        # The same for the console: the customer's thanks reach a deaf console.
        console.evaluate("window.parleyDeaf = true")
        thanks = "Great, thanks!"
        write(tab, thanks)
        expect(transcript(console, "transcript")).to_have_text([first, JOINED, answer, thanks])
    finally:
        customer.close()
        agent.close()
    assert errors == []


@pytest.mark.parametrize("server_env", [{"HEARTBEAT_INTERVAL": "2"}])
def test_an_offer_whose_push_was_lost_shows_up_with_the_next_heartbeat(
    asgi_server, browser, shop, server_env
):
    # The console hears no push at all: the router's reservation.offered is lost, and the
    # offer card comes from the next pong's list of open offers. Accepting it works.
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    agent.add_init_script(DEAF_PUSHES)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        expect(console.get_by_test_id("console-connection")).to_have_text("Connected")
        console.evaluate("window.parleyDeaf = true")
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        first = "Hello, is anyone there?"
        write(tab, first)
        stored_first(tab)
        offer = console.get_by_test_id("offer")
        expect(offer).to_have_count(1)
        expect(offer.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
        offer.get_by_test_id("offer-accept").click()
        expect(offer).to_have_count(0)
        expect(widget(tab).get_by_test_id("parley-status")).to_have_text(
            "You are chatting with Alice"
        )
        answer = "Yes, Alice here."
        mine = console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        expect(mine).to_have_count(1)
        mine.click()
        console.get_by_test_id("composer-input").fill(answer)
        console.get_by_test_id("composer-input").press("Enter")
        expect(transcript(tab, "parley-messages")).to_have_text([first, JOINED, answer])
    finally:
        customer.close()
        agent.close()
    assert errors == []


def test_a_site_that_refuses_the_origin_says_so(asgi_server, browser, shop):
    shop.allowed_origins = ["https://shop.example"]
    shop.save(update_fields=["allowed_origins"])
    context = browser.new_context(viewport=VIEWPORT)
    shop.prechat_form = {"fields": [{"name": "email", "required": True}]}
    shop.save(update_fields=["prechat_form"])
    try:
        page = context.new_page()
        warnings: list[str] = []
        page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
        open_widget(page, f"{asgi_server.url}/demo/{shop.key}/")
        banner = widget(page).get_by_test_id("parley-banner")
        # The customer reads a plain sentence; the reason is for the site's owner, in the
        # console. No pre-chat form leads nowhere under it (a walkthrough saw one).
        expect(banner).to_have_text("This chat cannot be used on this page.", timeout=15_000)
        expect(widget(page).get_by_test_id("parley-input")).to_be_disabled()
        expect(widget(page).get_by_test_id("parley-prechat")).to_have_count(0)
        assert any("This origin may not embed the widget." in w for w in warnings), warnings
        # The refusal may come before the panel's opening animation ends: shot at its end.
        page.screenshot(path=SCREENSHOTS.format("demo_refused"), animations="disabled")
    finally:
        context.close()


# The widget's first socket carries a token the server refuses (close 4401). The client
# stops retrying on an auth close and tells the widget, which gets a new token and reconnects.
SPOILED_FIRST_TOKEN = """
(() => {
  window.parleyOwnSocket = true;  // the widget keeps its own socket, so this wrapper sees it
  const Native = window.WebSocket;
  window.parleySocketUrls = [];
  window.WebSocket = class SpoilingWebSocket extends Native {
    constructor(url, protocols) {
      const first = !window.parleySocketUrls.some((u) => u.includes("/ws/widget/"));
      if (first && url.includes("/ws/widget/")) url = url.replace(/token=[^&]*/, "token=refused");
      super(url, protocols);
      window.parleySocketUrls.push(url);
    }
  };
})();
"""


def test_a_widget_whose_token_is_refused_gets_a_new_one(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(SPOILED_FIRST_TOKEN)
    try:
        tab = watch_errors(context.new_page(), errors)
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        first = "Hello, do you deliver on Saturdays?"
        write(tab, first)
        mine = widget(tab).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        expect(mine).to_have_attribute("data-status", "sent", timeout=30_000)
        expect(widget(tab).get_by_test_id("parley-banner")).to_be_hidden()
        urls = widget_frame(tab).evaluate("window.parleySocketUrls")
    finally:
        context.close()
    assert "token=refused" in urls[0]
    assert len(urls) >= 2
    assert "token=refused" not in urls[-1]
    assert list(Message.objects.values_list("seq", "body")) == [(1, first)]
    assert errors == []


@pytest.fixture
def bot_shop(shop):
    from bots.demo import demo_flow_setup

    # The demo's DIY-marketplace flow qualifies new conversations; alice serves its queues.
    demo_flow_setup(site=shop, agent_usernames=["alice"])
    return shop


def test_the_bot_qualifies_the_customer_and_the_router_offers_the_chat(
    asgi_server, browser, bot_shop
):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT, locale="en-US")
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        console = watch_errors(agent.new_page(), errors)
        login(console, base)  # online: the router may offer her the chat
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{bot_shop.key}/")
        messages = widget(tab).get_by_test_id("parley-messages")
        bot = messages.locator("li[data-kind=bot]")
        # The bot greets on open, before the customer writes: a greeting (one of two A/B
        # wordings), then the topic question with its buttons.
        question = "Is your question about an order or a product?"
        expect(bot.nth(1)).to_contain_text(question)
        expect(messages.locator("li.mine")).to_have_count(0)
        # The start told the server where the customer is, for the agent's context panel.
        visit = Conversation.objects.get(site=bot_shop).visit
        assert visit["page_url"] == f"{base}/demo/{bot_shop.key}/"
        assert "Chrome" in visit["user_agent"]
        # A customer's greeting is answered, not corrected.
        write(tab, "Hello!")
        expect(bot).to_have_count(3)
        expect(bot.last.get_by_test_id("parley-message-body")).to_have_text(f"Hello! {question}")
        expect(messages).not_to_contain_text("Please pick")
        choices = widget(tab).get_by_test_id("parley-choices").locator("visible=true")
        expect(choices).to_have_count(1)  # only the current question's buttons
        expect(choices.get_by_test_id("parley-choice")).to_have_text(
            ["An order", "A product", "Something else"]
        )
        tab.screenshot(path=SCREENSHOTS.format("demo_bot"))
        choices.get_by_role("button", name="An order").click()
        expect(messages.locator("li.mine").last).to_contain_text("An order")
        expect(widget(tab).get_by_test_id("parley-input")).to_have_attribute(
            "placeholder", "DIY-1234567"
        )
        expect(widget(tab).get_by_test_id("parley-choices").locator("visible=true")).to_have_count(
            0
        )
        write(tab, "DIY-1234567")
        expect(bot.last).to_contain_text("What email address can we reach you at")
        expect(widget(tab).get_by_test_id("parley-input")).to_have_attribute("inputmode", "email")
        write(tab, "zoe@example.com")
        expect(bot.last).to_contain_text("what can we help you with?")
        write(tab, "my parcel is late, it has not arrived")
        expect(bot.last).to_contain_text("passing you to our orders team")
        expect(widget(tab).get_by_test_id("parley-status")).to_contain_text("Waiting for an agent")
        # The hand-off summary is an internal note: the customer never sees it.
        expect(messages).not_to_contain_text("handed this conversation")

        # The router offers it to alice: she accepts from the offer card.
        offer = console.get_by_test_id("offer")
        expect(offer).to_have_count(1)
        expect(offer).to_contain_text("Orders")
        # The customer's last words, not the bot's handoff line.
        expect(offer.get_by_test_id("conversation-preview")).to_have_text(
            "my parcel is late, it has not arrived"
        )
        expect(offer.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
        console.screenshot(path=SCREENSHOTS.format("console_offer"))
        offer.get_by_test_id("offer-accept").click()
        expect(offer).to_have_count(0)
        expect(
            console.get_by_test_id("mine-list").get_by_test_id("conversation-item")
        ).to_have_count(1)
        chat = console.get_by_test_id("transcript")
        handoff = chat.get_by_test_id("transcript-note").first
        expect(handoff).to_contain_text("The bot handed this conversation to Orders")
        expect(handoff).to_contain_text("order number: DIY-1234567")
        expect(handoff).to_contain_text("email: zoe@example.com")
        expect(chat.locator("li[data-kind=text]").last).to_contain_text("my parcel is late")
        expect(widget(tab).get_by_test_id("parley-status")).to_have_text(
            "You are chatting with Alice"
        )
        answer = "Sorry about that, Zoé: your parcel DIY-1234567 is out for delivery today."
        console.get_by_test_id("composer-input").fill(answer)
        console.get_by_test_id("composer-input").press("Enter")
        expect(messages.locator("li[data-kind=text]").last).to_contain_text(answer)
        console.screenshot(path=SCREENSHOTS.format("console_bot_handoff"))
    finally:
        customer.close()
        agent.close()
    assert errors == []
