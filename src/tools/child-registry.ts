/**
 * The PostgreSQL programs running right now, and how to stop one. A program must never outlive
 * us: when the CLI exits on SIGINT/SIGTERM (its handler exits the process at once), the "exit"
 * handler below stops every child still running. The library installs no signal handlers of
 * its own; that is the CLI's decision.
 *
 * Why SIGINT first: psql, pg_dump and pg_restore answer SIGINT by sending PostgreSQL a cancel
 * request, so the server stops the query too. SIGTERM kills psql without one, and its backend
 * keeps running (a `pg_sleep(60)` runs its full minute) until it next tries to write to us.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

/**
 * Register a spawned child until it exits, so process exit can stop it.
 * @example trackChild(spawn(path, args)); // removed again by its "exit" event
 */
export function trackChild(child: ChildProcess): void {
  if (child.pid === undefined) return;
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on("exit", stopAllNow);
  }
}

/**
 * Ask a child to stop: SIGINT now, SIGTERM after `graceMs`, SIGKILL after twice that. Returns
 * a function that cancels the escalation (call it once the child has exited).
 * @example const cancel = stopChild(child, 2000); child.once("exit", cancel);
 */
export function stopChild(child: ChildProcess, graceMs: number): () => void {
  send(child, "SIGINT");
  const term = setTimeout(() => send(child, "SIGTERM"), graceMs);
  const kill = setTimeout(() => send(child, "SIGKILL"), graceMs * 2);
  return () => {
    clearTimeout(term);
    clearTimeout(kill);
  };
}

function send(child: ChildProcess, signal: NodeJS.Signals): void {
  // Until its "exit" event the pid is still ours (running or an unreaped zombie), never reused.
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/**
 * The "exit" handler: synchronous by necessity, no timers run any more. SIGINT everyone, give
 * them a moment to send their cancel requests, then SIGKILL whoever is left.
 */
function stopAllNow(): void {
  if (running.size === 0) return;
  const children = [...running];
  for (const child of children) send(child, "SIGINT");
  const deadline = Date.now() + 500;
  while (Date.now() < deadline && !children.every((c) => hasExited(c.pid!))) sleepSync(10);
  for (const child of children) if (!hasExited(child.pid!)) send(child, "SIGKILL");
}

/**
 * Whether `pid` is dead (a zombie counts: the event loop that would reap it no longer runs).
 * Without /proc (not Linux) the answer is "no", which costs the full wait and a SIGKILL.
 */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" && existsProc();
  }
}

function existsProc(): boolean {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
