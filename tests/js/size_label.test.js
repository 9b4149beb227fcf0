// A file's size as the widget and the console show it (static/parley/client/attachments.js).
import { describe, expect, it } from "vitest";
import { sizeLabel } from "../../static/parley/client/attachments.js";

describe("sizeLabel", () => {
  it("says bytes under a thousand, then KB and MB", () => {
    expect(sizeLabel(16)).toBe("16 B");
    expect(sizeLabel(999)).toBe("999 B");
    expect(sizeLabel(1000)).toBe("1 KB");
    expect(sizeLabel(5000)).toBe("5 KB");
    expect(sizeLabel(12 * 1024 * 1024)).toBe("12.0 MB");
    expect(sizeLabel(undefined)).toBe("");
  });
});
