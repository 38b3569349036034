#!/usr/bin/env node
/**
 * The `confiture` binary. `--version` is answered before anything heavy is loaded, so
 * start-up stays fast; everything else loads the bundled CLI (load-cli.ts).
 */
import { setFlagsFromString } from "node:v8";
import { TOOL_VERSION } from "../version.js";
import { loadCli } from "./load-cli.js";

// `confiture migrate status | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// node-postgres asks at import time whether it runs on Cloudflare Workers: it reads
// `navigator.userAgent`, and where Node has no `navigator` (Node 20) it constructs a `Response`,
// which loads Node's whole fetch implementation (undici, about 11 ms of every command). Node 21+
// defines `navigator` itself; on Node 20 the CLI defines the same read-only value first.
if (!("navigator" in globalThis)) {
  Object.defineProperty(globalThis, "navigator", {
    value: Object.freeze({ userAgent: `Node.js/${process.versions.node.split(".")[0]}` }),
    configurable: true,
    writable: false,
    enumerable: false,
  });
}

// The SQL parser is WebAssembly (libpg-query). By default V8 compiles it quickly (Liftoff) and
// then again, optimised, in the background; the process cannot exit until that second compile
// finishes, which cost an `up` that applies one migration about as much as everything else it
// did. Parsing migration files never runs long enough to gain from the optimised code, so the
// CLI keeps the first compile only (measured: less client CPU for 1,000 migrations too).
setFlagsFromString("--liftoff-only");

const args = process.argv.slice(2);
// The CLI is one bundle; with --debug, stack traces name the src/ files through its source map
// (turned on before the bundle loads: only code loaded afterwards is mapped).
const debug = args.includes("--debug");
if (debug) process.setSourceMapsEnabled(true);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${TOOL_VERSION}\n`);
} else {
  const cli = loadCli({ debug });
  process.exitCode = await cli.main(args);
  cli.afterRun();
}
