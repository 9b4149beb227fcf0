// The console's drafts per conversation (static/console/drafts.js): what one chat's
// composer held comes back for that chat only, survives a reload and goes once sent.
import { describe, expect, it } from "vitest";
import { draftStore } from "../../static/console/drafts.js";
import { fakeStorage } from "./harness.js";

describe("draftStore", () => {
  it("keeps a draft and its mode per conversation", () => {
    const store = draftStore(fakeStorage(), "d:");
    store.set(1, { text: "for Ann", mode: "reply" });
    store.set(2, { text: "about Ben", mode: "note" });
    expect(store.get(1)).toEqual({ text: "for Ann", mode: "reply" });
    expect(store.get(2)).toEqual({ text: "about Ben", mode: "note" });
    expect(store.get(3)).toEqual({ text: "", mode: "reply" });
    expect(store.get(null)).toEqual({ text: "", mode: "reply" });
  });

  it("reads them back from storage after a reload", () => {
    const storage = fakeStorage();
    draftStore(storage, "d:").set(7, { text: "half a note", mode: "note" });
    expect(draftStore(storage, "d:").get(7)).toEqual({ text: "half a note", mode: "note" });
    expect(draftStore(storage, "other:").get(7)).toEqual({ text: "", mode: "reply" });
  });

  it("forgets an empty composer, mode included: the chat opens in Reply", () => {
    const storage = fakeStorage();
    const store = draftStore(storage, "d:");
    store.set(4, { text: "sent soon", mode: "note" });
    store.set(4, { text: "", mode: "note" });
    expect(store.get(4)).toEqual({ text: "", mode: "reply" });
    expect(storage.getItem("d:4")).toBeNull();
    store.set(5, { text: "gone", mode: "reply" });
    store.drop(5);
    expect(draftStore(storage, "d:").get(5)).toEqual({ text: "", mode: "reply" });
  });

  it("survives a storage that refuses or holds garbage", () => {
    const broken = {
      getItem: () => "{not json",
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {},
    };
    const store = draftStore(broken, "d:");
    expect(store.get(1)).toEqual({ text: "", mode: "reply" });
    store.set(1, { text: "kept in memory", mode: "reply" });
    expect(store.get(1)).toEqual({ text: "kept in memory", mode: "reply" });
  });
});
