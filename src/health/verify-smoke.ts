/**
 * The runbook's `./run_smoke_tests.sh`: `verify.smoke` commands run one after another with
 * `sh -c` in the project directory. The database URL reaches them only through the environment
 * (DATABASE_URL and CONFITURE_DATABASE_URL), never argv, where `ps` would show it. Output is
 * kept (its tail) and shown redacted: a script that echoes $DATABASE_URL prints no password.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { hideSecret, redactUntrusted } from "../redact/index.js";
import { oneLine, type VerifyItem } from "./verify-items.js";

/** One command's outcome. */
export interface SmokeRun {
  command: string;
  /** The exit code, or null when it was killed (timeout) or could not start. */
  exitCode: number | null;
  /** Why it did not finish by itself, e.g. `timed out after 300s`. */
  problem: string | undefined;
  /** The last non-blank line it printed (stdout and stderr), redacted. */
  lastLine: string;
}

/** Per command, unless the caller says otherwise. */
export const DEFAULT_SMOKE_TIMEOUT_MS = 10 * 60 * 1000;
/** Only the tail of the output is kept: the last line is what is shown. */
const TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 2000;

/** Process groups still running, stopped if we exit first (Ctrl-C ends the CLI at once). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Run each command; resolves when all have finished. `url` is the resolved database URL.
 * @example await runSmoke(["./run_smoke_tests.sh"], { cwd: config.projectDir, url, timeoutMs: 60_000 })
 */
export async function runSmoke(
  commands: string[],
  opts: {
    cwd: string;
    url: string;
    timeoutMs?: number | undefined;
    onProgress?: ((message: string) => void) | undefined;
  },
): Promise<SmokeRun[]> {
  const runs: SmokeRun[] = [];
  for (const [i, command] of commands.entries()) {
    opts.onProgress?.(`smoke test ${i + 1}/${commands.length}: ${redact(command, opts.url)}`);
    runs.push(await runOne(command, opts.cwd, opts.url, opts.timeoutMs ?? DEFAULT_SMOKE_TIMEOUT_MS));
  }
  return runs;
}

/** `smoke tests`: PASS when every command exits 0; SKIP when none is configured. */
export function smokeItem(runs: SmokeRun[] | undefined, url = ""): VerifyItem {
  if (runs === undefined || runs.length === 0) {
    return {
      name: "smoke tests",
      verdict: "SKIP",
      evidence: ["verify.smoke is empty (no smoke commands configured)"],
    };
  }
  const failed = runs.filter((r) => r.exitCode !== 0);
  const lines = runs.map((r) => {
    const outcome = r.problem ?? `exit ${r.exitCode}`;
    const tail = r.lastLine === "" ? "no output" : `last output: ${r.lastLine}`;
    return oneLine(`${redact(r.command, url)}: ${outcome} (${tail})`, 240);
  });
  return {
    name: "smoke tests",
    verdict: failed.length > 0 ? "FAIL" : "PASS",
    evidence: [
      failed.length > 0
        ? `${failed.length} of ${runs.length} smoke command(s) failed`
        : `${runs.length} smoke command(s) passed`,
      ...lines,
    ],
  };
}

function runOne(command: string, cwd: string, url: string, timeoutMs: number): Promise<SmokeRun> {
  return new Promise((resolve) => {
    let tail = "";
    let timedOut = false;
    const env = { ...process.env, DATABASE_URL: url, CONFITURE_DATABASE_URL: url };
    // Its own process group, so a timeout stops the script's children too.
    const child = spawn("sh", ["-c", command], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    track(child);
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, "SIGTERM");
      setTimeout(() => signalGroup(child, "SIGKILL"), KILL_GRACE_MS).unref();
    }, timeoutMs);
    const finish = (exitCode: number | null, problem: string | undefined) => {
      clearTimeout(timer);
      const lines = redact(tail, url)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
      resolve({ command, exitCode, problem, lastLine: lines.at(-1) ?? "" });
    };
    child.on("error", (err) => finish(null, `could not start sh: ${err.message}`));
    // "close" waits for the output pipes; a background child holding them is stopped first.
    child.on("close", (code, signal) => {
      if (timedOut)
        finish(
          null,
          `timed out after ${timeoutMs < 1000 ? `${timeoutMs}ms` : `${Math.round(timeoutMs / 1000)}s`} and was stopped`,
        );
      else if (signal !== null) finish(null, `ended by ${signal}`);
      else finish(code, undefined);
    });
    child.on("exit", () => signalGroup(child, "SIGTERM"));
  });
}

/**
 * Redacted text, and the URL's password hidden even where no pattern would see it, bare or
 * percent-encoded (`echo $PGPASSWORD`, a script printing the parsed URL's password).
 */
function redact(text: string, url: string): string {
  hideSecret(passwordOf(url));
  return redactUntrusted(text);
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p === "" ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone.
  }
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once("close", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of running) signalGroup(c, "SIGKILL");
  });
}
