#!/usr/bin/env node
/**
 * The `confiture` binary. `--version` is answered before anything heavy is loaded, so
 * start-up stays fast; everything else loads the CLI.
 */
import { TOOL_VERSION } from "../version.js";

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

const args = process.argv.slice(2);
// The CLI is bundled; with --debug, stack traces name the src/ files through the source maps
// (turned on before the bundle's chunks load: only code loaded afterwards is mapped).
if (args.includes("--debug")) process.setSourceMapsEnabled(true);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${TOOL_VERSION}\n`);
} else {
  const { main } = await import("./main.js");
  process.exitCode = await main(args);
}
