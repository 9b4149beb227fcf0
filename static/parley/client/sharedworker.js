/*! Parley client: the SharedWorker that holds one socket for every tab (hub.js). Loaded as
 * a module worker by shared.js; one per origin and worker name. */
import { createHub } from "./hub.js";

const hub = createHub({ WebSocket: globalThis.WebSocket });
globalThis.onconnect = (ev) => hub.attach(ev.ports[0]);
