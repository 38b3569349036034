/**
 * Run the built CLI the way a user would: a separate node process, a clean environment, no TTY.
 * e2e tests need `npm run build` first (the `test` script does it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const packageJson = fileURLToPath(new URL("../../package.json", import.meta.url));
/**
 * Absolute path of the CLI users run: package.json's `bin.confiture` (the bundle that
 * `npm run build` writes and `npm pack` ships), so the tests run what users run.
 */
export const CLI_BIN = fileURLToPath(
  new URL(
    (JSON.parse(readFileSync(packageJson, "utf8")) as { bin: { confiture: string } }).bin.confiture,
    new URL("../../", import.meta.url),
  ),
);

/** Options for runCli / spawnCli. */
export interface CliOptions {
  cwd?: string;
  /** Added on top of the clean environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Without it stdin is closed at once, as in CI. */
  input?: string;
  /** SIGKILL the process after this long (runCli only). Default 60 000. */
  timeoutMs?: number;
}

/** What a finished CLI run produced. */
export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  /** stderr without the `target: ...` line a changing command prints first (see `target`). */
  stderr: string;
  /**
   * The `target: <user@host/db> (<source>)` line a command that changes the database prints
   * first on stderr, when it did; test/e2e/safe-defaults.test.ts checks it. Split off here so
   * every other assertion about stderr (one error line, nothing else) stays about the rest.
   */
  target?: string;
}

/** Split the leading `target:` line (a changing command's first stderr line) from the rest. */
export function splitTarget(stderr: string): { target?: string; rest: string } {
  const m = /^target: [^\n]*\n/.exec(stderr);
  return m ? { target: m[0].slice(0, -1), rest: stderr.slice(m[0].length) } : { rest: stderr };
}

// Variables that would silently point the CLI at some other database or config than the test's.
const LEAKY = /^(DATABASE_URL|CONFITURE_.*|PG.*|FORCE_COLOR)$/;

/** The environment the CLI runs with: process.env minus LEAKY, plus NO_COLOR and CI, plus `extra`. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!LEAKY.test(key)) env[key] = value;
  }
  env.NO_COLOR = "1";
  env.CI = "1";
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Start the CLI and return the child process (for signal and streaming tests).
 *
 * @example const child = spawnCli(["migrate", "up"], { cwd: project.dir }); child.kill("SIGINT");
 */
export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcess {
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} does not exist; run "npm run build" first.`);
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: cliEnv(opts.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin?.on("error", () => {}); // the CLI may exit before reading its input
  child.stdin?.end(opts.input);
  return child;
}

/**
 * Run the CLI to completion and collect its output.
 *
 * @example const r = await runCli(["status", "--json"], { cwd: project.dir, env: { DATABASE_URL: db.url } });
 */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const { target, rest } = splitTarget(stderr);
      resolve({ code, signal, stdout, stderr: rest, ...(target === undefined ? {} : { target }) });
    });
  });
}
