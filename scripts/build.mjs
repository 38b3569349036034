#!/usr/bin/env node
/**
 * The build: what `npm pack` ships and what `bin` runs (README "Build").
 *
 *   dist/index.js, dist/chunks/   the library: an ESM bundle (lazy imports stay separate chunks)
 *   dist/cli/bin.js               the `confiture` binary: a small ESM entry (--version, process set-up)
 *   dist/cli/confiture.cjs        the CLI: one CommonJS bundle, loaded by bin.js through a V8 code
 *                                 cache (src/cli/load-cli.ts)
 *   *.map                         source maps; `--debug` turns them on so stack traces name src/
 *   *.d.ts                        tsc declarations for the library entry
 *
 * Dependencies are bundled, except libpg-query: its WebAssembly file is loaded from its package.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
// Built beside dist/ and swapped in at the end, so a test run reading dist/ meanwhile never finds
// it half-written or missing.
const out = `dist.build-${process.pid}`;
rmSync(out, { recursive: true, force: true });
// A failed build (a type error in the declarations step, ...) leaves nothing behind.
process.on("exit", (code) => {
  if (code !== 0) rmSync(out, { recursive: true, force: true });
});

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "eof",
  external: ["libpg-query"],
  define: { __CONFITURE_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
};
// CommonJS dependencies (pg) call require() for Node's built-in modules; an ESM bundle has none.
const esmRequire = {
  js: 'import { createRequire as __confitureRequire } from "node:module"; const require = __confitureRequire(import.meta.url);',
};

await Promise.all([
  build({
    ...common,
    entryPoints: { index: "src/index.ts" },
    outdir: out,
    chunkNames: "chunks/[name]-[hash]",
    splitting: true,
    format: "esm",
    banner: esmRequire,
  }),
  build({
    ...common,
    entryPoints: { bin: "src/cli/bin.ts" },
    outdir: `${out}/cli`,
    format: "esm",
    // load-cli.ts reads confiture.cjs by path; main.js is only a type import there.
  }),
  build({
    ...common,
    entryPoints: { confiture: "src/cli/main.ts" },
    outdir: `${out}/cli`,
    outExtension: { ".js": ".cjs" },
    format: "cjs",
    // vm.Script (the code cache) has no loader for import(): lazy imports become require().
    supported: { "dynamic-import": false },
    define: { ...common.define, "import.meta.url": "__confitureModuleUrl" },
    banner: { js: 'const __confitureModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  }),
]);

execFileSync(
  process.execPath,
  ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--outDir", out],
  { stdio: "inherit" },
);

const old = `dist.old-${process.pid}`;
if (existsSync("dist")) renameSync("dist", old);
renameSync(out, "dist");
rmSync(old, { recursive: true, force: true });
