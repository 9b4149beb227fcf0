// Canned replies' variables, filled in when a reply is inserted: {{customer.name}},
// {{customer.email}}, {{agent.name}}, and the fields the bot collected, as {{order_number}}
// or {{collected.order_number}}; {{customer.name|default:"there"}} gives a default. An
// unknown or empty variable without one stays as written, so the
// agent sees what is missing, and the composer will not send a reply that still holds one
// (unfilled). Pure: unit-tested in tests/js/canned.test.js.

function lookup(vars, key) {
  let value = vars;
  for (const part of key.split(".")) {
    if (value === null || typeof value !== "object" || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = value[part];
  }
  return value;
}

// {{key}}, or {{key|default:"text"}} (or 'text') as automation rules write it
// (actions/rules.py): the default stands in for a missing or empty value.
const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]+)\s*(?:\|\s*default\s*:\s*(?:"([^"]*)"|'([^']*)')\s*)?\}\}/g;

export function expand(body, vars) {
  return String(body).replace(VARIABLE, (whole, key, dq, sq) => {
    let value = lookup(vars, key);
    if (value === undefined && !key.includes(".")) value = lookup(vars.collected || {}, key);
    if (value === undefined || value === null || value === "" || typeof value === "object") {
      const fallback = dq ?? sq;
      return fallback === undefined ? whole : fallback;
    }
    return String(value);
  });
}

/** The variables a reply still holds, in order, with where each is: [{text, start, end}]. */
export function unfilled(text) {
  return [...String(text).matchAll(VARIABLE)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}

/** The replies a `/query` at the start of the composer offers, for a conversation's site. */
export function matching(replies, query, siteId) {
  const q = String(query || "").toLowerCase();
  return replies
    .filter((r) => r.site === null || r.site === siteId)
    .filter((r) => r.shortcut.toLowerCase().startsWith(q) || (q.length > 1 && (r.title || "").toLowerCase().includes(q)))
    .sort((a, b) => (b.personal - a.personal) || a.shortcut.localeCompare(b.shortcut))
    .slice(0, 8);
}
