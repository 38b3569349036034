/**
 * The layering the README promises: the CLI uses only the public API, and nothing outside
 * the CLI prints or exits; only src/db imports pg.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../../src", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
}

const all = files(src).map((f) => ({ file: relative(src, f), path: f }));

describe("architecture", () => {
  it("src/cli imports library code only through src/index.ts", () => {
    const offending = all
      .filter((f) => f.file.startsWith("cli/"))
      .flatMap((f) => imports(f.path).map((i) => ({ file: f.file, import: i })))
      .filter(({ import: i }) => i.startsWith(".") && !/^(\.\.\/)+index\.js$/.test(i) && !isInsideCli(i));
    expect(offending).toEqual([]);
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
});

function isInsideCli(spec: string): boolean {
  // "./x.js" from cli/ or "../output.js" from cli/commands/ stay inside cli/.
  return spec.startsWith("./") || /^\.\.\/(output|exit-codes|main|prompt)\.js$/.test(spec);
}
