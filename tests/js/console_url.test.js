// The console's address per conversation (static/console/route.js): which chat an address
// names, and what opening, the console's own choice, Back/Forward and closing do to the
// history. navigate.js applies these; tests/browser/test_console_url.py drives the page.
import { describe, expect, it } from "vitest";
import { notOpenText, parseRoute, plan, poppedId, routeHash, routeUrl } from "../../static/console/route.js";

const at = (hash, search = "") => ({ pathname: "/console/", search, hash });

describe("parseRoute", () => {
  it("reads the conversation a fragment names", () => {
    expect(parseRoute("#/conversations/123")).toBe(123);
    expect(parseRoute("#/conversations/7/")).toBe(7);
  });

  it("names none for anything else", () => {
    const others = [
      ...["", "#", "#/", "#/conversations/", "#/chats/12", "/conversations/12", null, undefined],
      ...["#/conversations/0", "#/conversations/012", "#/conversations/-3", "#/conversations/1.5"],
      ...["#/conversations/abc", "#/conversations/12abc", "#/conversations/12/messages"],
      "#/conversations/9999999999999999", // past Number.MAX_SAFE_INTEGER
    ];
    for (const hash of others) {
      expect(parseRoute(hash), String(hash)).toBeNull();
    }
  });

  it("reads back what routeHash writes", () => {
    for (const id of [1, 42, 123456789]) expect(parseRoute(routeHash(id))).toBe(id);
    expect(routeHash(null)).toBe("");
  });
});

describe("routeUrl", () => {
  it("keeps the path and query, and replaces the fragment", () => {
    expect(routeUrl(at("#/conversations/3", "?debug=1"), 9)).toBe("/console/?debug=1#/conversations/9");
    expect(routeUrl(at("#/conversations/3"), null)).toBe("/console/");
  });
});

describe("plan", () => {
  it("pushes a chat the agent opens, so that Back returns to the one before", () => {
    expect(plan(at(""), 5, "push")).toEqual({ op: "push", url: "/console/#/conversations/5", state: { conversation: 5 } });
    expect(plan(at("#/conversations/5"), 6, "push")).toEqual({ op: "push", url: "/console/#/conversations/6", state: { conversation: 6 } });
  });

  it("adds no entry for the chat the address already names (a Take on the open chat)", () => {
    expect(plan(at("#/conversations/5"), 5, "push")).toBeNull();
  });

  it("leaves the history alone after Back/Forward: the address moved already", () => {
    expect(plan(at("#/conversations/5"), 6, "pop")).toBeNull();
    expect(plan(at("#/conversations/5"), null, "pop")).toBeNull();
  });

  it("keeps the address when the console opens a chat by itself, but records it", () => {
    expect(plan(at(""), 8, "auto")).toEqual({ op: "replace", url: "/console/", state: { conversation: 8 } });
    expect(plan(at("#/conversations/5"), 8, "auto")).toBeNull();
  });

  it("replaces a gone chat's address by the bare console, whatever the reason", () => {
    for (const how of ["push", "auto"]) {
      expect(plan(at("#/conversations/5", "?x=1"), null, how)).toEqual({ op: "replace", url: "/console/?x=1", state: { conversation: null } });
    }
    expect(plan(at(""), null, "push")).toBeNull();
  });
});

describe("poppedId", () => {
  it("prefers the address, then the entry's recorded chat", () => {
    expect(poppedId("#/conversations/4", { conversation: 9 })).toBe(4);
    expect(poppedId("", { conversation: 9 })).toBe(9);
    expect(poppedId("", { conversation: null })).toBeNull();
    expect(poppedId("", null)).toBeNull();
    expect(poppedId("#/elsewhere", { conversation: "x" })).toBeNull();
  });
});

describe("notOpenText", () => {
  it("names the conversation, politely", () => {
    expect(notOpenText(123)).toMatch(/^Conversation 123 is not open to you/);
  });
});
