/* Copy buttons on admin pages: <button type="button" data-copy="ID"> puts the text of the
 * element ID on the clipboard. A file, not an inline script: the CSP allows scripts only
 * from this origin or with the response's nonce. */
(function () {
  "use strict";

  function copied(button, ok) {
    var label = button.dataset.label || (button.dataset.label = button.textContent);
    button.textContent = ok ? button.dataset.copied : button.dataset.failed;
    setTimeout(function () {
      button.textContent = label;
    }, 2000);
  }

  // Without the Clipboard API (plain http on a host other than localhost): select and copy.
  function legacyCopy(source, button) {
    source.focus();
    source.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    copied(button, ok);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          copied(button, true);
        },
        function () {
          legacyCopy(source, button);
        }
      );
    } else {
      legacyCopy(source, button);
    }
  });
})();
