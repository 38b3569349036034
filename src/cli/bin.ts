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

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${TOOL_VERSION}\n`);
} else {
  const { main } = await import("./main.js");
  process.exitCode = await main(args);
}
