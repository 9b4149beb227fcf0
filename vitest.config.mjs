// JS unit tests of the browser protocol client (`make test-js`). Node only: no browser.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/js/**/*.test.js"],
    environment: "node",
  },
});
