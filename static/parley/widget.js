/*! Parley chat widget. Embed it with one tag:
 *
 *   <script src="https://chat.example.com/static/parley/widget.js" data-site="SITE_KEY" async></script>
 *
 * It talks to the server it was loaded from (or to data-server="https://…"), renders inside
 * a Shadow DOM so the host page's CSS cannot reach it, and follows docs/protocol.md: the
 * database is the truth, pushes are hints, and anything missed is recovered by seq.
 * Optional attributes: data-title (panel title), data-server (API base URL), and for a
 * logged-in customer data-external-id + data-user-hash (HMAC-SHA256 of the id with the
 * site's identity secret, computed by your backend), data-name, data-email.
 *
 * This file is only the loader, a classic script so that one plain tag embeds it. The
 * widget itself (widget/) and the protocol client it shares with the agent console
 * (client/) are ES modules beside it, imported from this file's own URL: same server, same
 * version, no build step. A dynamic import() from this script carries its CSP nonce, so a
 * page whose Content-Security-Policy allows this tag (by nonce, by 'strict-dynamic' or by
 * the server's origin) allows the modules too; they are fetched with CORS, which the server
 * allows for static files.
 */
(function () {
  "use strict";

  const script =
    document.currentScript || document.querySelector("script[data-site][src*='widget.js']");
  if (!script || !script.dataset.site || window.__parleyWidget) return;
  window.__parleyWidget = true;
  const src = new URL(script.src, location.href).href;

  function load(tries) {
    // A retry asks again under another URL: a browser keeps a failed module import.
    const entry = new URL("widget/index.js" + (tries ? "?retry=" + tries : ""), src).href;
    import(entry).then(
      (widget) => widget.start(script, src),
      () => {
        if (tries < 5) setTimeout(() => load(tries + 1), 2000 * 2 ** tries);
      },
    );
  }
  load(0);
})();
