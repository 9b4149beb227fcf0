// The widget's look: its style sheet (inside its Shadow DOM), icons and tick marks.

// Inline SVG, never an emoji font's glyph (they differ per system, and some have none):
// decorative (aria-hidden), the element that holds one says what it means (aria-label).
const svg = (d, attrs) => '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="' + d + '" ' + attrs + "/></svg>";
const line = (d) => svg(d, 'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"');
export const ICONS = {
  chat: svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z", 'fill="currentColor"'),
  close: svg("M6 6l12 12M18 6L6 18", 'stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"'),
  send: svg("M3.4 20.6 21 12 3.4 3.4 3.4 10l12.6 2-12.6 2z", 'fill="currentColor"'),
  clip: line("M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9"),
  smile: line("M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8.5 14.5a4.5 4.5 0 0 0 7 0M9 9.5v.5M15 9.5v.5"),
  star: svg("M12 2.8l2.8 5.9 6.4.8-4.7 4.4 1.2 6.4L12 17.2l-5.7 3.1 1.2-6.4-4.7-4.4 6.4-.8z", 'fill="currentColor"'),
};
// Tick marks, drawn as icons; their labels are texts (tick_sent, …: chat/widget_texts.py).
export const TICKS = {
  sending: { icon: line("M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2") },
  sent: { icon: line("M5 12.5l4.5 4.5L19 7.5") },
  delivered: { icon: line("M2 12.5l4.5 4.5L16 7.5M11 16l1 1 9.5-9.5") },
  read: { icon: line("M2 12.5l4.5 4.5L16 7.5M11 16l1 1 9.5-9.5") },
  failed: { icon: line("M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7.5v5.5M12 16.5v.5") },
};

// Colours meet WCAG AA contrast (4.5:1 for text) in both schemes; dark follows the system.
export const CSS = `
:root { --brand: #2456d6; --brand-dark: #1a44b0; --on-brand: #fff; --ink: #1c2433; --muted: #5b6577;
  --line: #dfe3ea; --bg: #fff; --scroll: #fbfcfe; --bubble: #eef1f6; --bot: #eaf5ee; --bot-line: #cfe6d6;
  --link: #1f4fc4; --banner: #fff6e0; --banner-ink: #6b4800; --queue: #eef3ff; --queue-ink: #23408e;
  --error: #fdecec; --error-ink: #8b1c1c; --focus: #1a44b0; color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  :root { --brand: #2f62e0; --brand-dark: #4a78ea; --ink: #e6eaf2; --muted: #a9b3c4; --line: #323a48;
    --bg: #181c24; --scroll: #12151b; --bubble: #262d3a; --bot: #1d3327; --bot-line: #2c4a38; --link: #9db8ff;
    --banner: #3a2e10; --banner-ink: #ffe2a0; --queue: #1d2a48; --queue-ink: #c9d8ff; --error: #451a1a;
    --error-ink: #ffc9c9; --focus: #9db8ff; }
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); -webkit-font-smoothing: antialiased; overflow: hidden; }
button { font: inherit; cursor: pointer; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
button:focus-visible, textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.panel { height: 100%; background: var(--bg); display: flex; flex-direction: column; overflow: hidden; }
header { background: var(--brand); color: var(--on-brand); padding: 12px 10px 12px 16px;
  display: flex; align-items: center; gap: 12px; flex: none; }
header .avatar { width: 38px; height: 38px; border-radius: 50%; background: rgba(255,255,255,.2);
  display: grid; place-items: center; flex: none; }
header .avatar svg { width: 20px; height: 20px; }
header .titles { flex: 1; min-width: 0; }
header h1 { margin: 0; font-size: 16px; font-weight: 650; }
/* The status wraps rather than being cut off ("You are chatting with …" in any language). */
header p { margin: 2px 0 0; font-size: 13px; overflow-wrap: anywhere; }
.icon { width: 40px; height: 40px; border-radius: 8px; border: 0; background: transparent; color: var(--on-brand);
  display: grid; place-items: center; flex: none; }
.icon:hover { background: rgba(255,255,255,.16); }
.icon:focus-visible { outline-color: #fff; }
.icon svg { width: 18px; height: 18px; }
.banner { padding: 8px 14px; font-size: 13px; background: var(--banner); color: var(--banner-ink); border-bottom: 1px solid var(--line); flex: none; }
.banner.error { background: var(--error); color: var(--error-ink); }
.banner[hidden], .queue[hidden], .choices[hidden], .composer[hidden] { display: none; }
.queue { padding: 9px 14px; font-size: 13px; background: var(--queue); color: var(--queue-ink); border-bottom: 1px solid var(--line); flex: none; }
.queue.offline { background: var(--banner); color: var(--banner-ink); }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 2px; max-width: 92%; }
.choices button { border: 1px solid var(--link); color: var(--link); background: var(--bg); border-radius: 16px;
  padding: 6px 12px; font-size: 13px; font-weight: 550; }
.choices button:hover { background: var(--brand); color: var(--on-brand); border-color: var(--brand); }
.link { border: 0; background: none; padding: 0; color: var(--link); font-size: 12px; cursor: pointer; text-decoration: underline; }
.scroll { flex: 1 1 auto; min-height: 0; overflow-y: auto; padding: 16px 14px 6px; background: var(--scroll); }
ol { list-style: none; margin: 0; padding: 0; }
.empty { text-align: center; color: var(--muted); margin: 40px 18px; font-size: 14px; }
.empty strong { display: block; color: var(--ink); font-size: 15px; margin-bottom: 4px; }
li.msg { display: flex; flex-direction: column; align-items: flex-start; margin: 2px 0 8px; max-width: 100%; }
li.msg.mine { align-items: flex-end; }
.who { font-size: 12px; color: var(--muted); margin: 6px 4px 3px; }
.bubble { max-width: 82%; padding: 8px 12px; border-radius: 16px 16px 16px 4px; background: var(--bubble);
  white-space: pre-wrap; overflow-wrap: anywhere; unicode-bidi: plaintext; }
li.mine .bubble { background: var(--brand); color: var(--on-brand); border-radius: 16px 16px 4px 16px; }
li.bot .bubble { background: var(--bot); border: 1px solid var(--bot-line); }
li.system .bubble { background: var(--bg); border: 1px solid var(--line); font-size: 13px; }
.meta { font-size: 12px; color: var(--muted); margin: 3px 6px 0; display: flex; gap: 6px; align-items: center; }
.tick { display: inline-flex; padding-right: 3px; }
.tick svg, .attachment.file svg { width: 14px; height: 14px; vertical-align: -2px; }
.tick[data-status="read"] { color: var(--link); }
.tick[data-status="failed"] { color: var(--error-ink); }
li.failed .bubble { background: var(--error); color: var(--error-ink); }
li.failed .why { color: var(--error-ink); }
.dismiss { border: 0; background: transparent; color: var(--muted); width: 24px; height: 24px; padding: 0;
  border-radius: 6px; font-size: 16px; line-height: 24px; }
.dismiss:hover { background: var(--bubble); color: var(--ink); }
li.event { text-align: center; color: var(--muted); font-size: 12px; margin: 10px 12px; }
.typing { padding: 0 16px 6px; font-size: 12px; color: var(--muted); background: var(--scroll); min-height: 18px; flex: none; }
.typing[hidden] { display: block; visibility: hidden; }
.dots span { display: inline-block; width: 5px; height: 5px; margin-right: 2px; border-radius: 50%;
  background: var(--muted); animation: blink 1.2s infinite; }
.dots span:nth-child(2) { animation-delay: .2s; } .dots span:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
.composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 10px 10px 14px; border-top: 1px solid var(--line); background: var(--bg); flex: none; }
textarea { flex: 1; resize: none; border: 1px solid var(--muted); border-radius: 12px; padding: 9px 12px;
  font: inherit; color: inherit; max-height: 120px; min-height: 40px; background: var(--bg); }
textarea::placeholder { color: var(--muted); opacity: 1; }
.send { width: 40px; height: 40px; border: 0; border-radius: 12px; background: var(--brand); color: var(--on-brand);
  display: grid; place-items: center; flex: none; }
.send:disabled { opacity: .5; cursor: default; }
.send svg { width: 18px; height: 18px; }
.brand { text-align: center; font-size: 12px; color: var(--muted); padding: 0 0 8px; background: var(--bg); flex: none; }
.card { margin: 10px 0 6px; padding: 10px 12px; border: 1px solid var(--line); border-radius: 12px; background: var(--bg);
  display: flex; flex-direction: column; gap: 6px; font-size: 13px; }
.card fieldset { border: 0; margin: 0; padding: 0; }
.card legend { padding: 0; margin-bottom: 4px; font-weight: 600; }
.card input[type=email], .card textarea { border: 1px solid var(--muted); border-radius: 8px; padding: 6px 8px;
  font: inherit; color: inherit; background: var(--bg); }
.card button { align-self: flex-start; border: 0; border-radius: 8px; padding: 6px 12px; background: var(--brand);
  color: var(--on-brand); font-weight: 600; }
.card button:disabled { opacity: .6; }
.card .done, .card p { margin: 0; }
.card .retry { background: var(--error); color: var(--error-ink); padding: 4px 8px; border-radius: 6px; }
.prechat .field { display: flex; flex-direction: column; gap: 3px; }
.prechat .field.check { flex-direction: row; align-items: flex-start; gap: 8px; }
.prechat input[type=text], .prechat input[type=email], .prechat select { border: 1px solid var(--muted);
  border-radius: 8px; padding: 7px 8px; font: inherit; color: inherit; background: var(--bg); }
.prechat input[type=checkbox] { width: 18px; height: 18px; margin: 1px 0 0; flex: none; }
.emoji-toggle { width: 40px; height: 40px; border: 0; border-radius: 12px; background: transparent; font-size: 20px; flex: none;
  color: var(--muted); display: grid; place-items: center; }
.emoji-toggle svg { width: 22px; height: 22px; }
.emoji-toggle:hover { background: var(--bubble); }
.emoji-grid { display: grid; grid-template-columns: repeat(8, 1fr); gap: 2px; padding: 6px 10px; border-top: 1px solid var(--line);
  background: var(--bg); flex: none; }
.emoji-grid[hidden] { display: none; }
.emoji-grid button { border: 0; background: transparent; font-size: 20px; padding: 4px 0; border-radius: 6px; }
.emoji-grid button:hover { background: var(--bubble); }
.attach-toggle:disabled { opacity: .5; }
.attach-error { background: var(--error); color: var(--error-ink); padding: 6px 12px; font-size: 13px; flex: none; }
.attach-error[hidden] { display: none; }
.attachments { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 4px; }
.attachment.image img { display: block; max-width: 200px; max-height: 200px; border-radius: 10px; border: 1px solid var(--line); }
.attachment.file { color: var(--link); word-break: break-all; }
.stars { display: inline-flex; flex-direction: row-reverse; gap: 2px; }
.stars input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.stars label { line-height: 0; color: var(--muted); cursor: pointer; padding: 2px; }
.stars svg { width: 26px; height: 26px; }
.stars input:checked ~ label, .stars label:hover, .stars label:hover ~ label { color: #a36a00; }
.stars input:focus-visible + label { outline: 3px solid var(--focus); border-radius: 4px; }
@media (prefers-color-scheme: dark) { .stars input:checked ~ label { color: #ffc44d; } }
@media (prefers-reduced-motion: reduce) { .dots span { animation: none; } }
`;
