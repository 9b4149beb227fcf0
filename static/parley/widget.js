/*! Parley chat widget loader. Embed it with one tag:
 *
 *   <script src="https://chat.example.com/static/parley/widget.js" data-site="SITE_KEY" async></script>
 *
 * This small classic script draws the launcher at once and exposes window.Parley. The chat
 * itself runs in an iframe on Parley's origin (/widget/frame/), loaded when the customer
 * opens it or the page goes idle: its visitor token lives in that origin's storage, out of
 * the host page's reach, and the two talk by postMessage, each checking the other's origin.
 * Attributes: data-site (required), data-server, data-title, data-locale, and for a
 * logged-in customer data-external-id + data-user-hash (HMAC-SHA256 of the id with the
 * site's identity secret), data-name, data-email. README "Embedding the widget" has the API.
 */
(function () {
  "use strict";
  var tag = document.currentScript || document.querySelector("script[data-site][src*='widget.js']");
  if (!tag || !tag.dataset.site || (window.Parley && window.Parley.loaded)) return;
  var d = tag.dataset;
  var BASE = (d.server || new URL(tag.src, location.href).origin).replace(/\/+$/, "");
  var ORIGIN = new URL(BASE).origin;
  var KEY = "parley:" + d.site + ":open";
  var handlers = { message: [], open: [], close: [], unread: [] };
  var identity = { externalId: d.externalId, userHash: d.userHash, name: d.name, email: d.email };
  var locale = d.locale || document.documentElement.lang || navigator.language || "";
  var labels = { open: "Open chat", close: "Close chat", unread: "%(count)s unread" };
  var frame = null;
  var ready = false;
  var isOpen = false;
  var unread = 0;
  var queue = [];
  var attached = false; // the host element is on the page (attach)
  var wanted = null; // open() or close() before that, applied by attach
  var savedOverflow = null; // the page's own inline overflow while a full-screen panel locks it
  // The panel is full screen (the launcher's CSS below): the page must not scroll under it.
  var narrow = window.matchMedia("(max-width:480px)");

  var host = document.createElement("div");
  host.setAttribute("data-testid", "parley-widget");
  // The host element is in the page's light DOM, where its CSS reaches it: a rule such as
  // `body > div { position: relative; z-index: 1 }` would make it a stacking context that
  // caps the panel under the page's own fixed header. Inline !important beats any author
  // rule, so the host is a zero-size fixed box on top, containing block for nothing.
  var HOST_STYLE = {
    position: "fixed", "z-index": "2147483000", top: "auto", left: "auto", right: "0", bottom: "0",
    width: "0", height: "0", margin: "0", padding: "0", border: "0", display: "block", overflow: "visible",
    visibility: "visible", opacity: "1", transform: "none", filter: "none", perspective: "none",
    contain: "none", "will-change": "auto", "backdrop-filter": "none", "clip-path": "none", "pointer-events": "auto",
  };
  Object.keys(HOST_STYLE).forEach(function (name) {
    host.style.setProperty(name, HOST_STYLE[name], "important");
  });
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>:host{all:initial}" +
    ".l{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#2456d6;color:#fff;display:grid;place-items:center;cursor:pointer;box-shadow:0 6px 20px rgba(20,40,100,.3)}" +
    ".l:hover{background:#1a44b0}.l:focus-visible{outline:3px solid #1a44b0;outline-offset:3px}.l svg{width:26px;height:26px}" +
    ".b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#c4262b;" +
    "color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}.b[hidden],.f[hidden]{display:none}" +
    ".f{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 108px));border:0;" +
    "border-radius:16px;background:#fff;box-shadow:0 18px 50px rgba(20,30,60,.25)}" +
    "@media (max-width:480px){.l{right:12px;bottom:12px;width:48px;height:48px}" +
    ".f{inset:0;width:100%;height:100%;border-radius:0;box-shadow:none}.open .l{display:none}}" +
    "@media (prefers-color-scheme:dark){.f{background:#15181f}}</style>" +
    '<div class="w"><button type="button" class="l" data-testid="parley-launcher" aria-haspopup="dialog" aria-expanded="false">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
    '<span class="b" data-testid="parley-unread" hidden></span></button></div>';
  var wrap = root.querySelector(".w");
  var launcher = root.querySelector(".l");
  var badge = root.querySelector(".b");
  launcher.addEventListener("click", function () {
    toggle(!isOpen);
  });

  function label() {
    var text = isOpen ? labels.close : labels.open;
    if (!isOpen && unread) text += ", " + labels.unread.replace("%(count)s", unread);
    launcher.setAttribute("aria-label", text);
    launcher.setAttribute("aria-expanded", String(isOpen));
    badge.hidden = isOpen || !unread;
    badge.textContent = unread && !isOpen ? String(unread) : "";
  }

  function emit(name, data) {
    (handlers[name] || []).forEach(function (fn) {
      try {
        fn(data);
      } catch (e) {
        setTimeout(function () {
          throw e;
        });
      }
    });
  }

  function post(msg) {
    if (ready) frame.contentWindow.postMessage(msg, ORIGIN);
    else queue.push(msg);
  }

  function mount() {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.className = "f";
    frame.hidden = !isOpen;
    frame.title = d.title || "Chat";
    frame.setAttribute("data-testid", "parley-frame");
    // page and ref: where the customer is, for the agent's context panel (sent at start).
    var q = new URLSearchParams({ site: d.site, origin: location.origin, lang: locale, title: d.title || "",
      page: location.href, ref: document.referrer });
    frame.src = BASE + "/widget/frame/?" + q;
    wrap.insertBefore(frame, launcher);
  }

  // Only the page's inline value is ours to change, and it goes back exactly as it was.
  function lockScroll() {
    var style = document.documentElement.style;
    var lock = isOpen && attached && narrow.matches;
    if (lock && savedOverflow === null) {
      savedOverflow = [style.getPropertyValue("overflow"), style.getPropertyPriority("overflow")];
      style.setProperty("overflow", "hidden");
    } else if (!lock && savedOverflow !== null) {
      style.setProperty("overflow", savedOverflow[0], savedOverflow[1]);
      savedOverflow = null;
    }
  }
  if (narrow.addEventListener) narrow.addEventListener("change", lockScroll);

  function toggle(open, fromFrame) {
    isOpen = open;
    if (!attached) {
      wanted = open; // no body yet (a tag in <head>): shown when the page has one
      return;
    }
    if (open) mount();
    if (frame) frame.hidden = !open; // else mount() applies it
    wrap.classList.toggle("open", open);
    try {
      sessionStorage.setItem(KEY, open ? "1" : "");
    } catch (e) {
      /* storage refused: this page only */
    }
    lockScroll();
    label();
    post({ type: open ? "open" : "close" });
    if (open) frame.focus();
    else if (fromFrame) launcher.focus();
    emit(open ? "open" : "close");
  }

  window.addEventListener("message", function (ev) {
    if (!frame || ev.origin !== ORIGIN || ev.source !== frame.contentWindow) return;
    var m = ev.data || {};
    if (m.type === "ready") {
      ready = true;
      if (m.labels) labels = m.labels;
      label();
      frame.contentWindow.postMessage({ type: "init", identity: identity, open: isOpen }, ORIGIN);
      queue.splice(0).forEach(post);
    } else if (m.type === "close") toggle(false, true);
    else if (m.type === "unread") {
      unread = m.count | 0;
      label();
      emit("unread", unread);
    } else if (m.type === "message") emit("message", m.message);
  });

  var api = {
    loaded: true,
    open: function () {
      toggle(true);
    },
    close: function () {
      toggle(false);
    },
    toggle: function () {
      toggle(!isOpen);
    },
    identify: function (who) {
      identity = who || {};
      post({ type: "identify", identity: identity });
    },
    setLocale: function (lang) {
      locale = String(lang || "");
      if (!frame) return;
      // The frame's texts come from the server in its language: load it again (the
      // conversation is in its storage, nothing is lost).
      frame.remove();
      frame = null;
      ready = false;
      queue = [];
      if (isOpen) toggle(true);
      else mount();
    },
    on: function (name, fn) {
      if (handlers[name] && typeof fn === "function") handlers[name].push(fn);
      return api;
    },
    // The queue's own method, kept once loaded: a tag manager's late
    // `(window.Parley = window.Parley || []).push(["open"])` runs at once.
    push: function () {
      for (var i = 0; i < arguments.length; i++) run(arguments[i]);
    },
    get isOpen() {
      return isOpen;
    },
  };

  // One queued call: a bad one is said in the console and does not stop the others.
  function run(call) {
    try {
      if (!Array.isArray(call) || call[0] === "push" || typeof api[call[0]] !== "function") {
        throw new TypeError("not a Parley call: " + JSON.stringify(call));
      }
      api[call[0]].apply(api, call.slice(1));
    } catch (e) {
      console.warn("Parley:", e);
    }
  }

  // Calls made before this script ran (window.Parley = [["open"], ...]) run now, in order;
  // open() and close() before the page has a body are applied by attach.
  var early = Array.isArray(window.Parley) ? window.Parley : [];
  window.Parley = api;
  early.forEach(run);

  function attach() {
    document.body.appendChild(host);
    attached = true;
    var open = wanted;
    if (open === null) {
      try {
        open = sessionStorage.getItem(KEY) === "1";
      } catch (e) {
        /* no storage */
      }
    }
    label();
    if (open) toggle(true);
    else if (window.requestIdleCallback) requestIdleCallback(mount, { timeout: 4000 });
    else setTimeout(mount, 2000);
    // The frame that first paints the launcher (bench/widget_load.py reads it).
    requestAnimationFrame(function (t) {
      window.__parleyPainted = t;
    });
  }
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
