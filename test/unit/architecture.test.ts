/**
 * The layering the README's architecture section promises, checked on every run: which area
 * of src/ may import which (the may-import table), the CLI only through the public API, history
 * history, tools and redact only through their index, no import cycle anywhere, nothing outside the CLI prints or
 * exits, only src/db imports pg, and nothing outside src/history writes the history tables.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../../src", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Static imports and re-exports (type-only included: a type import is still a dependency), and import(). */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const fromClauses = [...text.matchAll(/^\s*(?:import|export)[^"';]*?from\s+["']([^"']+)["']/gm)];
  const dynamic = [...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)];
  return [...fromClauses, ...dynamic].map((m) => m[1]!);
}

const all = files(src).map((f) => ({ file: relative(src, f), path: f }));

/** The area of a file: its top folder under src/, or the file name for top-level files. */
function areaOf(file: string): string {
  const [first, second] = file.split("/");
  return second === undefined ? first!.replace(/\.ts$/, "") : first!;
}

/**
 * Who may import whom (README "Architecture"). An area may always import its own files.
 * `index` is the public API and re-exports everything; `cli` goes through it.
 */
const MAY_IMPORT: Record<string, string[]> = {
  index: ["*"],
  // bin.ts answers --version from version.ts without loading the library.
  cli: ["index", "version"],
  redact: [],
  commands: [],
  version: [],
  "error-codes": [],
  errors: ["error-codes", "redact"],
  config: ["errors", "redact"],
  db: ["errors", "redact"],
  sql: ["errors"],
  tools: ["errors", "redact"],
  catalog: ["db", "errors"],
  history: ["db", "errors", "redact", "version"],
  ops: ["config", "db", "history", "errors", "redact"],
  migrations: ["ops", "history", "catalog", "sql", "db", "config", "errors", "redact", "commands"],
  locking: ["ops", "history", "db", "config", "errors", "commands"],
  project: ["ops", "config", "errors", "commands"],
  audit: ["ops", "history", "config", "errors", "commands"],
  schema: ["ops", "catalog", "history", "migrations", "sql", "db", "config", "errors", "redact", "commands"],
  health: [
    "backup",
    "ops",
    "catalog",
    "history",
    "migrations",
    "schema",
    "tools",
    "db",
    "config",
    "errors",
    "redact",
    "commands",
  ],
  backup: [
    "tools",
    "ops",
    "catalog",
    "schema",
    "migrations",
    "history",
    "db",
    "config",
    "errors",
    "redact",
    "commands",
    "version",
  ],
  incident: [
    "health",
    "schema",
    "migrations",
    "audit",
    "history",
    "ops",
    "db",
    "config",
    "errors",
    "redact",
    "commands",
  ],
};

/** Areas reached from outside only through their index.ts. */
const THROUGH_INDEX = new Set([
  "history",
  "tools",
  "redact",
  "catalog",
  "schema",
  "health",
  "incident",
  "backup",
]);

interface Edge {
  from: string;
  to: string;
}

const edges: Edge[] = all.flatMap((f) =>
  imports(f.path)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => ({
      from: f.file,
      to: normalize(join(dirname(f.file), spec.replace(/\.js$/, ".ts"))),
    })),
);

describe("architecture", () => {
  it("every area of src/ is in the may-import table", () => {
    const areas = [...new Set(all.map((f) => areaOf(f.file)))].sort();
    expect(areas.filter((a) => !(a in MAY_IMPORT))).toEqual([]);
  });

  it("areas import only what the may-import table allows", () => {
    const offending = edges
      .filter((e) => {
        const from = areaOf(e.from);
        const to = areaOf(e.to);
        const allowed = MAY_IMPORT[from] ?? [];
        return from !== to && !allowed.includes("*") && !allowed.includes(to);
      })
      .map((e) => `${e.from} -> ${e.to}`);
    expect(offending).toEqual([]);
  });

  it("history, tools and redact are reached only through their index", () => {
    const offending = edges
      .filter((e) => {
        const to = areaOf(e.to);
        return THROUGH_INDEX.has(to) && areaOf(e.from) !== to && e.to !== `${to}/index.ts`;
      })
      .map((e) => `${e.from} -> ${e.to}`);
    expect(offending).toEqual([]);
  });

  it("has no import cycle (type-only imports included)", () => {
    const graph = new Map<string, string[]>();
    for (const e of edges) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "open") {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" -> "));
        return;
      }
      state.set(node, "open");
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, "done");
    };
    for (const f of all) visit(f.file, []);
    expect(cycles).toEqual([]);
  });

  it("only src/cli writes to stdout/stderr or exits", () => {
    const offending = all
      .filter((f) => !f.file.startsWith("cli/"))
      .filter((f) =>
        /process\.(stdout|stderr)\.write|process\.exit|console\.(log|error|warn|info)/.test(
          readFileSync(f.path, "utf8"),
        ),
      )
      .map((f) => f.file);
    expect(offending).toEqual([]);
  });

  it("only src/db imports pg", () => {
    const offending = all
      .filter((f) => !f.file.startsWith("db/"))
      .filter((f) => imports(f.path).some((i) => i === "pg" || i.startsWith("pg/")))
      .map((f) => f.file);
    expect(offending).toEqual([]);
  });

  it("only src/history writes SQL that changes tables (the tracking and events tables)", () => {
    // The selective table restore writes rows of the user's own table: that is the feature.
    const USER_TABLE_WRITERS = new Set(["backup/restore-table.ts"]);
    const offending = all
      .filter((f) => !f.file.startsWith("history/") && !USER_TABLE_WRITERS.has(f.file))
      .filter((f) =>
        /\b(insert\s+into|delete\s+from|update\s+\$\{|alter\s+table\s+\$\{|create\s+table\s+(if\s+not\s+exists\s+)?\$\{)/i.test(
          readFileSync(f.path, "utf8"),
        ),
      )
      .map((f) => f.file);
    expect(offending).toEqual([]);
  });
});
