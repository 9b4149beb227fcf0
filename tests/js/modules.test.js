// The browser code's shape (no build step, so the files are what ships): every module under
// ~400 lines, and the ES module imports of each part one way, without a cycle.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const STATIC = resolve(dirname(fileURLToPath(import.meta.url)), "../../static");
const MAX_LINES = 400;

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : [],
  );
}

/** file -> the files it imports statically (relative specifiers only). */
function importGraph(files) {
  const graph = new Map();
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    const deps = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) =>
      resolve(dirname(file), m[1]),
    );
    graph.set(file, deps);
  }
  return graph;
}

/** The first import cycle found, as a list of paths relative to static/, or null. */
function findCycle(graph) {
  const state = new Map(); // file -> "visiting" | "done"
  const stack = [];
  function visit(file) {
    if (state.get(file) === "done") return null;
    if (state.get(file) === "visiting") return stack.slice(stack.indexOf(file)).concat(file);
    state.set(file, "visiting");
    stack.push(file);
    for (const dep of graph.get(file) || []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, "done");
    return null;
  }
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle.map((f) => relative(STATIC, f));
  }
  return null;
}

const files = jsFiles(STATIC);
// Vendored libraries (static/vendor/, e.g. uPlot) ship as their authors built them.
const ours = files.filter((f) => !relative(STATIC, f).startsWith("vendor/"));

describe("the browser modules", () => {
  it("are each under the house limit of lines", () => {
    const long = ours
      .map((f) => [relative(STATIC, f), readFileSync(f, "utf8").split("\n").length - 1])
      .filter(([, n]) => n > MAX_LINES);
    expect(files.length).toBeGreaterThan(10);
    expect(long).toEqual([]);
  });

  it("import only files that exist, without a cycle", () => {
    const graph = importGraph(files);
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${relative(STATIC, f)} -> ${d}`));
    expect(missing).toEqual([]);
    expect(graph.get(join(STATIC, "console/console.js"))).toContain(join(STATIC, "parley/client/index.js"));
    expect(findCycle(graph)).toBeNull();
  });

  it("find a cycle when there is one", () => {
    const graph = new Map([
      ["/s/a.js", ["/s/b.js"]],
      ["/s/b.js", ["/s/c.js"]],
      ["/s/c.js", ["/s/a.js"]],
    ]);
    expect(findCycle(graph)).toHaveLength(4);
  });
});
