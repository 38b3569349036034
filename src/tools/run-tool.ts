/**
 * Run one PostgreSQL program to completion: connection through libpq's environment, stdout to
 * a file, a stream or a string, stderr redacted line by line, cancellation through an
 * AbortSignal, and a typed error when it fails. The promise never settles while the child
 * still runs, so "it rejected" also means "it is gone".
 */
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { ToolError } from "../errors.js";
import { redactText } from "../redact/index.js";
import { stopChild, trackChild } from "./child-registry.js";
import { type FindToolOptions, type FoundTool, findTool, type ToolName } from "./find-tool.js";
import { connectionEnv, refuseSecretsInArgs, type ToolConnection } from "./libpq-env.js";
import { StderrLines } from "./stderr-lines.js";
import { feedInput, type OutputTarget, openOutput, type ToolInput, type ToolOutput } from "./tool-io.js";

/** How to run the program; also where to find it when it is given by name. */
export interface RunToolOptions extends FindToolOptions {
  /** The database: a postgres:// URL or its parts, handed over as PGHOST, PGPASSWORD, ... */
  connection?: ToolConnection;
  /** Default "capture". A `{ file }` is replaced, and removed again if the program fails. A Writable is ended. */
  stdout?: ToolOutput;
  /** Fed to stdin (e.g. SQL for `psql -f -`); stdin is /dev/null otherwise. */
  input?: ToolInput;
  cwd?: string;
  /** Aborting stops the program (SIGINT, so it cancels its query; SIGTERM, then SIGKILL if it lingers). */
  signal?: AbortSignal;
  /** How long each step of stopping waits. Default 2000 ms. */
  killGraceMs?: number;
  /** Most bytes "capture" keeps before failing. Default 16 MiB. */
  maxCaptureBytes?: number;
  /** Called once the program started, with its pid. */
  onSpawn?: (pid: number) => void;
  /** Every non-blank stderr line, redacted. */
  onStderrLine?: (line: string) => void;
}

/** A program that exited with status 0. */
export interface ToolResult {
  tool: FoundTool;
  /** What it printed with stdout "capture"; "" otherwise. */
  stdout: string;
  /** Its last stderr lines (redacted): warnings a successful run may still print. */
  stderr: string[];
}

/**
 * Run `tool` (a name to find, or what findTool returned) with `args` and wait for it.
 * Throws ToolError: TOOL_NOT_FOUND / TOOL_TOO_OLD (see findTool, or it cannot be started),
 * TOOL_FAILED (non-zero exit, a signal, cancelled, too much captured output); UsageError when
 * an argument carries a password (it belongs in `connection`, never in argv).
 * @example
 * await runTool("pg_dump", ["--schema-only", "--no-password"], {
 *   connection: config.databaseUrl, minMajor: 16, stdout: { file: "schema.sql" },
 *   onStderrLine: (line) => log.warn(line),
 * });
 */
export async function runTool(
  tool: ToolName | FoundTool,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    ...(options.connection === undefined ? {} : connectionEnv(options.connection)),
  };
  const found = typeof tool === "string" ? await findTool(tool, { ...options, env }) : tool;
  refuseSecretsInArgs(found.name, args, env.PGPASSWORD);
  if (options.signal?.aborted) throw cancelled(found, "it was not started", options.signal.reason);
  const target = await openOutput(options.stdout ?? "capture");
  try {
    return await execute(found, args, options, env, target);
  } catch (err) {
    // A half-written dump must never look like a finished one.
    if (target.file !== undefined) await rm(target.file, { force: true });
    throw err;
  } finally {
    await target.handle?.close();
  }
}

function execute(
  found: FoundTool,
  args: readonly string[],
  options: RunToolOptions,
  env: NodeJS.ProcessEnv,
  target: OutputTarget,
): Promise<ToolResult> {
  const { name } = found;
  const graceMs = options.killGraceMs ?? 2000;
  const maxCapture = options.maxCaptureBytes ?? 16 * 1024 * 1024;
  return new Promise<ToolResult>((resolve, reject) => {
    const stdio: StdioOptions = [options.input === undefined ? "ignore" : "pipe", target.stdio, "pipe"];
    let child: ChildProcess;
    try {
      child = spawn(found.path, [...args], { env, cwd: options.cwd, stdio });
    } catch (err) {
      reject(cannotStart(found, err));
      return;
    }

    let failure: unknown; // set when we decided to stop it (output error, callback error)
    let cancelReason: unknown;
    let wasCancelled = false;
    let stopping: (() => void) | undefined;
    let settled = false;
    let exitTimer: NodeJS.Timeout | undefined;
    const captured: Buffer[] = [];
    let capturedBytes = 0;
    const password = env.PGPASSWORD;
    const stderr = new StderrLines(password === undefined ? [] : [password], options.onStderrLine);

    const stop = (): void => {
      stopping ??= stopChild(child, graceMs);
    };
    const fail = (err: unknown): void => {
      failure ??= err;
      stop();
    };
    const onAbort = (): void => {
      wasCancelled = true;
      cancelReason = options.signal?.reason;
      stop();
    };

    child.on("error", (err) => {
      // After a successful spawn the only errors are failed kill()s, which stop() already tolerates.
      if (child.pid === undefined) finish(cannotStart(found, err));
    });
    if (child.pid === undefined) return; // the "error" event follows
    trackChild(child);
    options.signal?.addEventListener("abort", onAbort, { once: true });

    child.stderr?.on("data", (chunk: Buffer) => {
      try {
        stderr.push(chunk);
      } catch (err) {
        fail(err);
      }
    });
    if (target.capture) {
      child.stdout?.on("data", (chunk: Buffer) => {
        capturedBytes += chunk.length;
        if (capturedBytes > maxCapture) {
          fail(
            new ToolError(
              "TOOL_FAILED",
              name,
              `${name} printed more than ${maxCapture} bytes; send its output to a file`,
            ),
          );
          return;
        }
        captured.push(chunk);
      });
    }
    const piped =
      target.writable !== undefined && child.stdout !== null
        ? pipeline(child.stdout, target.writable).catch((err: Error) => {
            fail(
              new ToolError(
                "TOOL_FAILED",
                name,
                `writing ${name}'s output failed: ${redactText(err.message)}`,
                { cause: err },
              ),
            );
          })
        : Promise.resolve();
    feedInput(child, options.input, fail);

    try {
      options.onSpawn?.(child.pid);
    } catch (err) {
      fail(err);
    }

    child.once("exit", () => {
      // A grandchild (pg_ctl start's server) may hold our pipes open forever; do not wait on it.
      exitTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 2000);
    });
    child.once("close", () => finish());

    function finish(startError?: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(exitTimer);
      stopping?.();
      options.signal?.removeEventListener("abort", onAbort);
      if (startError !== undefined) {
        reject(startError);
        return;
      }
      try {
        stderr.end();
      } catch (err) {
        failure ??= err;
      }
      void piped.then(() => {
        const error = outcome();
        if (error === undefined) {
          resolve({
            tool: found,
            stdout: Buffer.concat(captured).toString("utf8"),
            stderr: [...stderr.tail],
          });
        } else {
          reject(error);
        }
      });
    }

    function outcome(): unknown {
      if (failure !== undefined) return failure;
      const reason = stderr.reason(name);
      const details = {
        path: found.path,
        exitStatus: child.exitCode,
        signal: child.signalCode,
        stderr: [...stderr.tail],
      };
      if (wasCancelled) return cancelled(found, reason, cancelReason, details);
      if (child.signalCode !== null) {
        return new ToolError(
          "TOOL_FAILED",
          name,
          `${name} was killed by ${child.signalCode}${reason ? `: ${reason}` : ""}`,
          {
            details,
          },
        );
      }
      if (child.exitCode !== 0) {
        const status = child.exitCode ?? -1;
        return new ToolError(
          "TOOL_FAILED",
          name,
          `${name} exited with status ${status}${reason ? `: ${reason}` : " and printed no error"}`,
          { exitStatus: status, details },
        );
      }
      return undefined;
    }
  });
}

function cannotStart(found: FoundTool, err: unknown): ToolError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new ToolError(
    "TOOL_NOT_FOUND",
    found.name,
    `${found.name} at ${found.path} cannot be started (${code})`,
    {
      cause: err,
      details: { path: found.path },
    },
  );
}

function cancelled(
  found: FoundTool,
  reason: string | undefined,
  cause: unknown,
  details: Record<string, unknown> = {},
): ToolError {
  return new ToolError(
    "TOOL_FAILED",
    found.name,
    `${found.name} was cancelled${reason ? ` (${reason})` : ""}`,
    {
      cause,
      details: { cancelled: true, ...details },
    },
  );
}
