// The widget's CSAT, transcript and offline-address cards (static/parley/widget/feedback.js):
// a request that gets no answer at all (offline, a dropped connection) is a failure the
// card can show and retry, never an uncaught rejection that leaves its button disabled.
import { afterEach, describe, expect, it, vi } from "vitest";
import { post, retryable } from "../../static/parley/widget/feedback.js";
import { env, state } from "../../static/parley/widget/state.js";

describe("post", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("resolves to a status-0 failure when fetch rejects", async () => {
    env.BASE = "https://parley.example";
    Object.assign(state, { conv: { id: 7 }, token: "tok" });
    vi.stubGlobal("fetch", vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))));
    const res = await post("/csat/", { score: 5 });
    expect(res).toEqual({ ok: false, status: 0, error: {} });
    expect(retryable(res)).toBe(true);
  });

  it("passes the server's answer and its error code through", async () => {
    const answer = { ok: false, status: 409, json: async () => ({ error: { code: "already_rated" } }) };
    vi.stubGlobal("fetch", vi.fn(async () => answer));
    const res = await post("/csat/", { score: 5 });
    expect(res).toEqual({ ok: false, status: 409, error: { code: "already_rated" } });
    expect(fetch.mock.calls[0][0]).toBe("https://parley.example/api/v1/conversations/7/csat/");
  });
});

describe("retryable", () => {
  it("is a failure the customer cannot fix by changing the input", () => {
    expect(retryable({ ok: false, status: 0 })).toBe(true);
    expect(retryable({ ok: false, status: 503 })).toBe(true);
    expect(retryable({ ok: false, status: 429 })).toBe(true);
    expect(retryable({ ok: false, status: 400 })).toBe(false); // a bad address: say why
    expect(retryable({ ok: true, status: 201 })).toBe(false);
  });
});
