/*! Parley client: the hub of a shared socket. One WebSocket serves every tab of a
 * principal (the console's tabs): it runs in a SharedWorker (sharedworker.js), and each tab
 * talks to it through a port that looks like a WebSocket to the rest of the client
 * (shared.js). The protocol is unchanged: a tab's frame that carries an `id` has it tagged
 * with the tab's port, so the server's reply (its `ref`) goes back to that tab alone;
 * pushes (no ref) go to every tab. A tab that joins an open socket asks the server for a
 * fresh `hello` of its own (`hello.request`). The socket closes when no tab wants it.
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
      if (frame && frame.id !== undefined && frame.id !== null) frame.id = tagRef(id, frame.id);
      ws.send(JSON.stringify(frame));
    } else if (msg.op === "close" || msg.op === "bye") {
      p.open = false;
      if (msg.op === "bye") ports.delete(id);
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
