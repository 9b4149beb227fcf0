/*! Parley client: the socket. Connects with jittered, capped exponential back-off, stops on
 * an auth close, pings every heartbeat and reconnects when pongs stop, and paces frames
 * under the server's per-socket rate limit when asked. See index.js for the whole client. */

const OPEN = 1; // WebSocket.OPEN
export const MAX_ATTEMPT = 8;

/** Jittered exponential back-off: a delay in [cap/2, cap], cap = min(max, base * 2^attempt). */
export function backoffDelay(attempt, rnd, base, max) {
  const cap = Math.min(max, base * 2 ** attempt);
  return cap / 2 + rnd * (cap / 2);
}

/**
 * The connection's part of the client, on the shared context `ctx` (index.js): it calls
 * ctx.handle(frame) for every frame and ctx.socketLost() when a socket goes; the rest of
 * the client reads ctx.ready and sends through ctx.send.
 */
export function createSocket(ctx) {
  const { opts, call, later, cancel, now } = ctx;
  const base = (opts.backoff && opts.backoff.base) || 500;
  const maxDelay = (opts.backoff && opts.backoff.max) || 30000;
  const pace = opts.pace || null;

  let ws = null; // the socket, or a placeholder while url() runs
  let stopped = false;
  let everConnected = false;
  let attempt = 0;
  let reconnectTimer = null;
  let stopBeat = null;
  let lastPong = 0;
  let heartbeat = opts.heartbeatInterval || 20;
  let closeReason = null;
  const queue = [];
  let tokens = pace ? pace.burst : 0;
  let refilledAt = now();
  let drainTimer = null;

  // --- sending ---------------------------------------------------------------------------
  function send(frame, urgent) {
    if (!ws || ws.readyState !== OPEN) return false;
    if (!pace) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    if (urgent) queue.unshift(frame);
    else queue.push(frame);
    drain();
    return true;
  }

  // Stays under the server's per-socket rate limit when a reconnect resumes many
  // conversations at once; user actions (urgent) go first.
  function drain() {
    const t = now();
    tokens = Math.min(pace.burst, tokens + ((t - refilledAt) / 1000) * pace.perSecond);
    refilledAt = t;
    while (queue.length && tokens >= 1 && ws && ws.readyState === OPEN) {
      ws.send(JSON.stringify(queue.shift()));
      tokens -= 1;
    }
    if (queue.length && !drainTimer) {
      drainTimer = later(() => {
        drainTimer = null;
        drain();
      }, 150);
    }
  }

  // --- connection ------------------------------------------------------------------------
  function connect() {
    cancel(reconnectTimer);
    reconnectTimer = null;
    if (stopped || ws) return;
    const slot = {};
    ws = slot; // reserve it while url() runs
    call("status", "connecting");
    const failed = (err) => {
      if (ws !== slot) return;
      ws = null;
      call("connectFailed", err);
      if (err && err.fatal) stop();
      else scheduleReconnect(false);
    };
    let url;
    try {
      url = opts.url();
    } catch (err) {
      return failed(err);
    }
    const opened = (u) => {
      if (ws !== slot) return;
      try {
        open(u);
      } catch (err) {
        failed(err); // a malformed URL: the constructor throws
      }
    };
    if (url && typeof url.then === "function") url.then(opened, failed);
    else opened(url);
  }

  function open(url) {
    const Socket = opts.WebSocket || globalThis.WebSocket;
    const socket = new Socket(url);
    ws = socket;
    closeReason = null;
    socket.onmessage = (ev) => {
      if (ws !== socket) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame.type === "string") ctx.handle(frame);
    };
    socket.onclose = (ev) => {
      if (ws !== socket) return;
      drop();
      if (ev.code === 4401 || ev.code === 4403) {
        // Retrying cannot help: the UI decides (a new token, the login page, a message).
        stopped = true;
        call("status", "stopped");
        call("authFailed", { code: ev.code, reason: closeReason });
      } else {
        // 4429: we flooded; 4409: this visitor or agent has too many sockets open (another
        // tab may close). Either way, wait the longest.
        scheduleReconnect(ev.code === 4429 || ev.code === 4409);
      }
    };
  }

  function drop() {
    const old = ws;
    ws = null;
    ctx.ready = false;
    queue.length = 0;
    if (stopBeat) stopBeat();
    stopBeat = null;
    ctx.socketLost();
    if (old && old.close) {
      old.onclose = old.onmessage = null;
      try {
        old.close();
      } catch (e) {
        /* already closed */
      }
    }
    call("status", "offline");
  }

  function scheduleReconnect(longest) {
    cancel(reconnectTimer);
    if (stopped) return;
    if (longest) attempt = MAX_ATTEMPT;
    const delay = backoffDelay(attempt, ctx.random(), base, maxDelay);
    attempt = Math.min(attempt + 1, MAX_ATTEMPT);
    reconnectTimer = later(connect, delay);
    call("status", "offline");
  }

  function stop() {
    stopped = true;
    cancel(reconnectTimer);
    if (ws) drop();
    call("status", "stopped");
  }

  /** hello: the socket is ready; the heartbeat starts at the server's interval. */
  function online(interval) {
    heartbeat = interval || heartbeat;
    ctx.ready = true;
    everConnected = true;
    attempt = 0;
    lastPong = now();
    if (stopBeat) stopBeat();
    stopBeat = ctx.every(heartbeat * 1000, beat);
  }

  function beat() {
    if (!ctx.ready) return; // a tick already queued when the heartbeat stopped
    const limit = 2 * heartbeat * 1000;
    if (now() - lastPong > limit) {
      drop(); // no pong for two intervals: the connection is dead
      return scheduleReconnect(false);
    }
    send({ type: "ping", id: "p" + ctx.nextNo(), t: now() }, true);
    ctx.beat(limit);
  }

  return {
    send,
    connect,
    stop,
    online,
    pong() {
      lastPong = now();
    },
    /** A ping now (polling without pushes), besides the heartbeat's. */
    ping() {
      send({ type: "ping", id: "p" + ctx.nextNo(), t: now() }, true);
    },
    /** The reason an error frame gave before a 4401/4403 close: what the UI shows. */
    closingBecause(message) {
      closeReason = message;
    },
    retry() {
      stopped = false;
      scheduleReconnect(false);
    },
    wake() {
      if (ws || stopped) return false;
      attempt = 0;
      connect();
      return true;
    },
    connected: () => Boolean(ws),
    stopped: () => stopped,
    everConnected: () => everConnected,
  };
}
