// The widget's look: its style sheet (inside its Shadow DOM), icons and tick marks.

export const ICONS = {
  chat: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" fill="currentColor"/></svg>',
  close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"/></svg>',
  send: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.6 21 12 3.4 3.4 3.4 10l12.6 2-12.6 2z" fill="currentColor"/></svg>',
};
export const TICKS = {
  sending: { text: "◷", label: "Sending" },
  sent: { text: "✓", label: "Sent" },
  delivered: { text: "✓✓", label: "Delivered" },
  read: { text: "✓✓", label: "Read" },
  failed: { text: "!", label: "Not sent" },
};

export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.pw { --brand: #2456d6; --brand-dark: #1a44b0; --ink: #1c2433; --muted: #6b7587; --line: #e6e9ef;
  --bubble: #f1f3f7; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); -webkit-font-smoothing: antialiased; }
button { font: inherit; cursor: pointer; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.launcher { width: 58px; height: 58px; border-radius: 50%; border: 0; background: var(--brand); color: #fff;
  display: grid; place-items: center; box-shadow: 0 8px 24px rgba(20, 40, 100, .28); position: relative;
  margin-left: auto; transition: transform .15s ease, background .15s; }
.launcher:hover { background: var(--brand-dark); transform: translateY(-1px); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #9db6ff; outline-offset: 2px; }
.launcher svg { width: 26px; height: 26px; }
.launcher .close-icon { display: none; }
.launcher[aria-expanded="true"] .chat-icon { display: none; }
.launcher[aria-expanded="true"] .close-icon { display: block; }
.badge { position: absolute; top: -3px; right: -3px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #e5484d; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 20px; text-align: center; box-shadow: 0 0 0 2px #fff; }
.panel { width: 370px; height: min(600px, calc(100vh - 110px)); margin-bottom: 14px; background: #fff;
  border-radius: 16px; box-shadow: 0 18px 50px rgba(20, 30, 60, .25), 0 0 0 1px rgba(20, 30, 60, .06);
  display: flex; flex-direction: column; overflow: hidden; animation: rise .18s ease-out; }
.panel[hidden] { display: none; }
@keyframes rise { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
header { background: linear-gradient(135deg, var(--brand), #3b6ff0); color: #fff; padding: 16px 14px 16px 18px;
  display: flex; align-items: center; gap: 12px; }
header .avatar { width: 38px; height: 38px; border-radius: 50%; background: rgba(255,255,255,.2);
  display: grid; place-items: center; font-weight: 700; flex: none; }
header .avatar svg { width: 20px; height: 20px; }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 16px; font-weight: 650; }
header p { margin: 2px 0 0; font-size: 12.5px; opacity: .88; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.icon { width: 34px; height: 34px; border-radius: 8px; border: 0; background: transparent; color: #fff;
  display: grid; place-items: center; }
.icon:hover { background: rgba(255,255,255,.16); }
.icon svg { width: 18px; height: 18px; }
.banner { padding: 8px 14px; font-size: 12.5px; background: #fff6e0; color: #7a5300; border-bottom: 1px solid #f3e2b4; }
.banner.error { background: #fdecec; color: #8b1c1c; border-color: #f5caca; }
.banner[hidden], .queue[hidden], .choices[hidden] { display: none; }
.queue { padding: 9px 14px; font-size: 12.5px; background: #eef3ff; color: #23408e; border-bottom: 1px solid #dbe4fb; }
.queue.offline { background: #fff6e0; color: #7a5300; border-color: #f3e2b4; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 2px; max-width: 92%; }
.choices button { border: 1px solid var(--brand); color: var(--brand); background: #fff; border-radius: 16px;
  padding: 6px 12px; font-size: 13px; font-weight: 550; }
.choices button:hover { background: var(--brand); color: #fff; }
.link { border: 0; background: none; padding: 0; color: var(--brand); font-size: 11px; cursor: pointer; text-decoration: underline; }
.scroll { flex: 1; overflow-y: auto; padding: 16px 14px 6px; background: #fbfcfe; scroll-behavior: smooth; }
ol { list-style: none; margin: 0; padding: 0; }
.empty { text-align: center; color: var(--muted); margin: 40px 18px; font-size: 13.5px; }
.empty strong { display: block; color: var(--ink); font-size: 15px; margin-bottom: 4px; }
li.msg { display: flex; flex-direction: column; align-items: flex-start; margin: 2px 0 8px; max-width: 100%; }
li.msg.mine { align-items: flex-end; }
.who { font-size: 11.5px; color: var(--muted); margin: 6px 0 3px 4px; }
.bubble { max-width: 82%; padding: 8px 12px; border-radius: 16px 16px 16px 4px; background: var(--bubble);
  white-space: pre-wrap; overflow-wrap: anywhere; }
li.mine .bubble { background: var(--brand); color: #fff; border-radius: 16px 16px 4px 16px; }
li.bot .bubble { background: #eef6f1; border: 1px solid #d6eadc; }
li.system .bubble { background: #fff; border: 1px solid var(--line); font-size: 13px; }
.meta { font-size: 11px; color: var(--muted); margin: 3px 6px 0; display: flex; gap: 6px; align-items: center; }
.tick { letter-spacing: -3px; padding-right: 3px; font-weight: 700; font-size: 12px; }
.tick[data-status="read"] { color: var(--brand); }
.tick[data-status="failed"] { color: #c4262b; letter-spacing: 0; }
li.pending .bubble { opacity: .75; }
li.failed .bubble { background: #fbe9e9; color: #8b1c1c; }
li.event { text-align: center; color: var(--muted); font-size: 12px; margin: 10px 12px; }
.typing { padding: 0 16px 6px; font-size: 12px; color: var(--muted); background: #fbfcfe; min-height: 18px; }
.typing[hidden] { display: block; visibility: hidden; }
.dots span { display: inline-block; width: 5px; height: 5px; margin-right: 2px; border-radius: 50%;
  background: var(--muted); animation: blink 1.2s infinite; }
.dots span:nth-child(2) { animation-delay: .2s; } .dots span:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
form { display: flex; align-items: flex-end; gap: 8px; padding: 10px 10px 10px 14px; border-top: 1px solid var(--line); background: #fff; }
textarea { flex: 1; resize: none; border: 1px solid var(--line); border-radius: 12px; padding: 9px 12px;
  font: inherit; color: inherit; max-height: 120px; min-height: 40px; background: #fff; }
textarea:focus { border-color: #9db6ff; outline: none; }
.send { width: 40px; height: 40px; border: 0; border-radius: 12px; background: var(--brand); color: #fff;
  display: grid; place-items: center; flex: none; }
.send:disabled { background: #c5cde0; cursor: default; }
.send svg { width: 18px; height: 18px; }
.brand { text-align: center; font-size: 11px; color: #9aa3b2; padding: 0 0 8px; background: #fff; }
@media (max-width: 480px) {
  .pw { right: 12px; bottom: 12px; left: 12px; }
  .panel { width: 100%; height: calc(100vh - 100px); }
}
@media (prefers-reduced-motion: reduce) { .panel, .dots span, .launcher { animation: none; transition: none; } }
`;
