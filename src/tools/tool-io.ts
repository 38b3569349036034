/**
 * Where a program's stdout goes and what its stdin gets. A file gets the child's own file
 * descriptor, so a multi-gigabyte dump never passes through this process.
 */
import type { ChildProcess } from "node:child_process";
import { type FileHandle, open } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";

/** What stdin gets: SQL text, bytes, or a stream. Without it stdin is /dev/null. */
export type ToolInput = string | Uint8Array | Readable;

/** Where stdout goes: kept as a string, discarded, written to a file (mode 0600), or piped into a stream. */
export type ToolOutput = "capture" | "ignore" | { file: string } | Writable;

/** An opened ToolOutput: what to give spawn, and what to clean up afterwards. */
export interface OutputTarget {
  stdio: "pipe" | "ignore" | number;
  file?: string;
  handle?: FileHandle;
  writable?: Writable;
  capture: boolean;
}

/**
 * Open `output` for a child. A `{ file }` is created or truncated with mode 0600 (a dump holds
 * the data); the caller closes `handle` once the child has started.
 * @example const target = await openOutput({ file: "db.dump" }); spawn(path, args, { stdio: ["ignore", target.stdio, "pipe"] });
 */
export async function openOutput(output: ToolOutput): Promise<OutputTarget> {
  if (output === "capture") return { stdio: "pipe", capture: true };
  if (output === "ignore") return { stdio: "ignore", capture: false };
  if ("file" in output && typeof output.file === "string") {
    // The child writes straight into the file: no copying through this process.
    const handle = await open(output.file, "w", 0o600);
    return { stdio: handle.fd, file: output.file, handle, capture: false };
  }
  return { stdio: "pipe", writable: output as Writable, capture: false };
}

/**
 * Feed `input` to the child's stdin. Errors reading `input` go to `fail`; EPIPE on stdin is
 * ignored, because the program exiting without reading everything says why through its status.
 * @example feedInput(child, "select 1;", (err) => stopWith(err));
 */
export function feedInput(
  child: ChildProcess,
  input: ToolInput | undefined,
  fail: (err: unknown) => void,
): void {
  if (input === undefined || child.stdin === null) return;
  child.stdin.on("error", () => {});
  if (input instanceof Readable) {
    input.once("error", (err) => fail(err));
    input.pipe(child.stdin);
  } else {
    child.stdin.end(input);
  }
}
