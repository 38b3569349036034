#!/usr/bin/env node
import { execFileSync } from "node:child_process";
/**
 * The build: what `npm pack` ships and what `bin` runs.
 *
 *   dist/index.js, dist/cli/bin.js   esbuild bundles (ESM, code splitting: lazy imports stay lazy,
 *   dist/chunks/*.js                 shared code lives once), dependencies bundled except
 *                                    libpg-query (its WebAssembly file is loaded from its package)
 *   dist/**\/*.js.map                 source maps; `--debug` turns them on so stack traces name src/
 *   dist/**\/*.d.ts                   tsc declarations for the library entry
 */
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });

await build({
  entryPoints: { index: "src/index.ts", "cli/bin": "src/cli/bin.ts" },
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "eof",
  external: ["libpg-query"],
  define: { __CONFITURE_VERSION__: JSON.stringify(pkg.version) },
  // CommonJS dependencies (pg) call require() for Node's built-in modules.
  banner: {
    js: 'import { createRequire as __confitureRequire } from "node:module"; const require = __confitureRequire(import.meta.url);',
  },
  logLevel: "warning",
});

execFileSync(
  process.execPath,
  ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json", "--emitDeclarationOnly"],
  {
    stdio: "inherit",
  },
);
