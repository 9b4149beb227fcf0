/*! Parley client: the hub of a shared socket. One WebSocket serves every tab of a
 * principal (the console's tabs): it runs in a SharedWorker (sharedworker.js), and each tab
 * talks to it through a port that looks like a WebSocket to the rest of the client
 * (shared.js). The protocol is unchanged: a tab's frame that carries an `id` has it tagged
 * with the tab's port, so the server's reply (its `ref`) goes back to that tab alone;
 * pushes (no ref) go to every tab. A tab that joins an open socket asks the server for a
 * fresh `hello` of its own (`hello.request`). The socket closes when no tab wants it.
 *
 * The tabs share one outbox (localStorage) and each flushes it after every hello, so the
 * same message.send (one client_msg_id) comes from several tabs: one copy goes to the
 * server, and its answer to every tab that sent it. The tab whose copy went owns it; a tab
 * that goes (or leaves the socket) withdraws what it owned, and the next tab waiting for
 * that answer has its copy sent instead, so that nothing waits on a tab that is gone.
 *
 * Messages from a tab: {op: "open", url} | {op: "send", data} | {op: "close"} | {op: "bye"}.
 * Messages to a tab: {op: "open"} | {op: "message", data} | {op: "close", code, reason}.
 */

const OPEN = 1;
const TAG = /^p(\d+)\|([ns])([\s\S]*)$/;

export function tagRef(port, id) {
  return `p${port}|${typeof id === "number" ? "n" : "s"}${id}`;
}

/** [port, original id] from a tagged ref, or null (a push, or not ours). */
export function untagRef(ref) {
  const m = typeof ref === "string" ? TAG.exec(ref) : null;
  if (!m) return null;
  return [Number(m[1]), m[2] === "n" ? Number(m[3]) : m[3]];
}

/** opts: WebSocket (constructor). Returns {attach(port) -> id, sockets() -> count}. */
export function createHub(opts) {
  const ports = new Map(); // id -> {port, open}
  let ws = null;
  let opened = 0; // real sockets opened, for tests and diagnostics
  let nextId = 0;
  const sends = new Map(); // client_msg_id -> {owner, ref (tagged), others: Map<port id, frame>}
  const sendRefs = new Map(); // tagged ref -> client_msg_id

  function forward(id, frame) {
    if (frame.type === "message.send" && typeof frame.client_msg_id === "string") {
      const cmid = frame.client_msg_id;
      const known = sends.get(cmid);
      if (known && known.owner !== id) {
        known.others.set(id, frame); // already on its way: its answer comes here too
        return;
      }
      if (known) sendRefs.delete(known.ref); // the owner's resend: its answer was lost
      frame.id = tagRef(id, frame.id);
      sends.set(cmid, { owner: id, ref: frame.id, others: known ? known.others : new Map() });
      sendRefs.set(frame.id, cmid);
    } else {
      frame.id = tagRef(id, frame.id);
      // conversation.start's first message is answered to its own id: to this tab too.
      const first = frame.type === "conversation.start" && frame.message;
      if (first && typeof first === "object" && first.id != null) first.id = tagRef(id, first.id);
    }
    ws.send(JSON.stringify(frame));
  }

  /** The answer to a shared message.send, to the other tabs that sent it. */
  function answerOthers(taggedRef, frame) {
    const cmid = sendRefs.get(taggedRef);
    if (cmid === undefined) return;
    sendRefs.delete(taggedRef);
    const known = sends.get(cmid);
    sends.delete(cmid);
    for (const [id, theirs] of known.others) {
      const p = ports.get(id);
      if (p && p.open) post(id, { op: "message", data: JSON.stringify(Object.assign({}, frame, { ref: theirs.id })) });
    }
  }

  /** Tab `id` left the socket: the sends it owned go out again from a tab still waiting. */
  function withdraw(id) {
    for (const [cmid, known] of Array.from(sends.entries())) {
      known.others.delete(id);
      if (known.owner !== id) continue;
      sendRefs.delete(known.ref);
      sends.delete(cmid);
      const next = known.others.entries().next();
      if (next.done || !ws || ws.readyState !== OPEN) continue;
      const [heir, frame] = next.value;
      known.others.delete(heir);
      forward(heir, frame); // a fresh entry, owned by the heir
      for (const [other, theirs] of known.others) sends.get(cmid).others.set(other, theirs);
    }
  }

  function post(id, msg) {
    const p = ports.get(id);
    if (p) p.port.postMessage(msg);
  }

  function wanting() {
    return Array.from(ports.entries()).filter(([, p]) => p.open);
  }

  function connect(url) {
    const socket = new opts.WebSocket(url);
    ws = socket;
    opened += 1;
    socket.onopen = () => {
      if (ws !== socket) return;
      for (const [id] of wanting()) post(id, { op: "open" });
    };
    socket.onmessage = (ev) => {
      if (ws !== socket) return;
      let frame = null;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      const tagged = frame && untagRef(frame.ref);
      if (tagged) {
        const [id, ref] = tagged;
        answerOthers(frame.ref, frame);
        frame.ref = ref;
        const p = ports.get(id);
        if (p && p.open) post(id, { op: "message", data: JSON.stringify(frame) });
        return;
      }
      for (const [id] of wanting()) post(id, { op: "message", data: ev.data });
    };
    socket.onclose = (ev) => {
      if (ws !== socket) return;
      ws = null;
      sends.clear(); // every tab sends its outbox again after the next hello
      sendRefs.clear();
      for (const [id, p] of wanting()) {
        p.open = false;
        post(id, { op: "close", code: ev.code, reason: ev.reason || "" });
      }
    };
  }

  function closeIfUnwanted() {
    if (ws && wanting().length === 0) {
      const socket = ws;
      ws = null;
      sends.clear();
      sendRefs.clear();
      try {
        socket.close(1000);
      } catch (e) {
        /* already closed */
      }
    }
  }

  function onMessage(id, msg) {
    const p = ports.get(id);
    if (!p || !msg) return;
    if (msg.op === "open") {
      p.open = true;
      if (!ws) return connect(msg.url);
      if (ws.readyState === OPEN) {
        // The socket's hello went out long ago: this tab gets one of its own.
        post(id, { op: "open" });
        ws.send(JSON.stringify({ type: "hello.request", id: tagRef(id, "hello") }));
      } // connecting: its onopen tells every tab that wants it
    } else if (msg.op === "send") {
      if (!p.open || !ws || ws.readyState !== OPEN) return;
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch (e) {
        return;
      }
      if (!frame || frame.id === undefined || frame.id === null) ws.send(JSON.stringify(frame));
      else forward(id, frame);
    } else if (msg.op === "close" || msg.op === "bye") {
      p.open = false;
      if (msg.op === "bye") ports.delete(id);
      withdraw(id);
      closeIfUnwanted();
    }
  }

  return {
    attach(port) {
      const id = ++nextId;
      ports.set(id, { port, open: false });
      port.onmessage = (ev) => onMessage(id, ev.data);
      if (port.start) port.start();
      return id;
    },
    sockets: () => opened,
    ports: () => ports.size,
  };
}
