// Notifications while the console is not looked at: a short tone and a desktop notification
// (the Notification API; permission asked once, on the agent's first click) for a new offer
// and for a customer's message in one of my chats. The tab title carries the counts (lists.js).
// Notifications are tagged, so the tabs of one agent replace each other's rather than stack.

const ASKED_KEY = "parley:console:notify-asked";
let audio = null;

/** Ask for permission once, from a user gesture (browsers ignore it otherwise). */
export function askOnce() {
  const N = globalThis.Notification;
  if (!N || N.permission !== "default") return;
  try {
    if (localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, "1");
  } catch (e) {
    /* storage refused: ask anyway, once per page */
  }
  N.requestPermission();
}

function tone() {
  try {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return;
    audio = audio || new Ctx();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
    globalThis.parleyTones = (globalThis.parleyTones || 0) + 1; // for tests and diagnostics
  } catch (e) {
    /* no audio output: the notification still shows */
  }
}

/** Tell the agent, if the page is not in front of them. */
export function notify(title, body, tag) {
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  tone();
  const N = globalThis.Notification;
  if (!N || N.permission !== "granted") return;
  try {
    const n = new N(title, { body, tag, renotify: true });
    n.onclick = () => {
      globalThis.focus();
      if (n.close) n.close();
    };
  } catch (e) {
    /* some browsers allow notifications only from a service worker */
  }
}
