// The widget checks how many files a message may carry before uploading any
// (static/parley/widget/attach.js): over the site's limit, the server would refuse the
// whole message, after every upload, with an English message.
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_FILES, maxFiles, pickRefusal } from "../../static/parley/widget/attach.js";

describe("maxFiles", () => {
  it("is the site's limit from the frame page's config, else ATTACHMENT_MAX_COUNT's default", () => {
    expect(maxFiles({ attachmentMaxCount: 2 })).toBe(2);
    expect(maxFiles({ attachmentMaxCount: 0 })).toBe(0);
    expect(DEFAULT_MAX_FILES).toBe(5);
    expect(maxFiles({})).toBe(5);
    expect(maxFiles(null)).toBe(5);
    expect(maxFiles({ attachmentMaxCount: "9" })).toBe(5);
  });
});

describe("pickRefusal", () => {
  it("refuses a pick over the limit before anything is uploaded", () => {
    expect(pickRefusal(6, 5)).toBe("too_many_attachments");
    expect(pickRefusal(5, 5)).toBe("");
    expect(pickRefusal(1, 5)).toBe("");
    expect(pickRefusal(1, 0)).toBe("attachments_disabled");
  });
});
