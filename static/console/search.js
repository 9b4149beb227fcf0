// Search over my conversations, by customer (name, email, external id) and by text: the
// results replace the lists while the box has a query; a click opens the conversation.
import { el } from "./dom.js";
import { client, convs, rec } from "./state.js";

let timer = null;
let lastQuery = "";

export function onSearchInput() {
  clearTimeout(timer);
  const q = el.searchInput.value.trim();
  lastQuery = q;
  const active = q.length >= 2;
  el.searchSection.hidden = !active;
  for (const section of el.listSections) section.hidden = active;
  if (!active) return;
  timer = setTimeout(() => client.send({ type: "search", id: "q", query: q }, true), 250);
}

export function onResults(f) {
  if (f.query !== lastQuery) return; // an older answer
  el.searchEmpty.hidden = f.results.length > 0;
  el.searchResults.replaceChildren(
    ...f.results.map((hit) => {
      const li = document.createElement("li");
      li.className = "item";
      li.dataset.testid = "search-result";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "item-open";
      b.dataset.conversation = hit.id;
      const body = document.createElement("span");
      body.className = "item-body";
      const top = document.createElement("strong");
      top.className = "item-name";
      top.textContent = `${hit.customer} · #${hit.id} · ${hit.status}`;
      const match = document.createElement("span");
      match.className = "item-preview";
      match.dataset.testid = "search-match";
      match.textContent = hit.match || (hit.queue ? hit.queue : "");
      body.append(top, match);
      b.appendChild(body);
      li.appendChild(b);
      return li;
    }),
  );
}

/** Open a result: one I hold already, or loaded in full (a closed one of mine). */
export function openResult(id, select) {
  if (!convs.has(id)) {
    const r = rec(id);
    r.full = true;
    client.resume(id, true);
  }
  select(id);
}
