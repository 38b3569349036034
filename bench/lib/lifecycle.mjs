/**
 * The life of one bench run: a work directory, and on any exit (normal, an escaping error, or a
 * signal) the bench cluster stopped and the directory removed; on a signal the bench databases
 * are dropped first.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { externalServer, startCluster } from "./cluster.mjs";
import { Admin } from "./database.mjs";

/**
 * @param {string} prefix the work directory's name prefix
 * @param {(message: string) => void} log
 * @param {() => { server?: { stop(): void }, admin?: { dropAll(): Promise<void> } }} current the cluster and admin, once they exist
 * @returns {{ workDir: string, cleanup: () => Promise<void> }}
 */
export function benchLifecycle(prefix, log, current) {
  const workDir = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = async () => {
    await current()
      .admin?.dropAll()
      .catch(() => {});
    current().server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, async () => {
      log(`\n${signal}: stopping the bench cluster ...`);
      await cleanup();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
  process.on("exit", () => {
    current().server?.stop(); // synchronous: still runs when an error escapes
    rmSync(workDir, { recursive: true, force: true });
  });
  return { workDir, cleanup };
}

/** Seconds since the previous call (the first: since `start`), rounded: the report's phase times. */
export function lapTimer(start) {
  let lapStart = start;
  return () => {
    const now = Date.now();
    const seconds = Math.round((now - lapStart) / 1000);
    lapStart = now;
    return seconds;
  };
}

/**
 * The server to bench against: BENCH_DATABASE_URL's, or a throwaway cluster (fsync off with
 * `fast`), and an admin connection to it.
 */
export async function benchServer({ fast }, log) {
  let server;
  if (process.env.BENCH_DATABASE_URL) {
    server = externalServer(process.env.BENCH_DATABASE_URL);
    log("Using BENCH_DATABASE_URL (server settings are whatever that server has).");
  } else {
    log(`Starting a throwaway PostgreSQL cluster (${fast ? "fsync=off" : "fsync on"}) ...`);
    server = await startCluster({ fast });
  }
  return { server, admin: new Admin(server.adminUrl, { forceSslDisable: !process.env.BENCH_DATABASE_URL }) };
}

/**
 * Stamp the run's duration, write the raw results to `bench/results/<prefix><date>.json`, and the
 * rendered report to stdout.
 */
export function publishResults(results, { prefix, render, started, log }) {
  results.elapsedSeconds = Math.round((Date.now() - started) / 1000);
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${prefix}${results.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${render(results)}\n`);
  log(`Raw results: ${file} (${results.elapsedSeconds} s)`);
}

/** Run a bench's `main`, then clean up; a failure is logged and sets exit code 1. */
export async function runBench(main, cleanup, log) {
  try {
    await main();
    await cleanup();
  } catch (err) {
    log(`bench failed: ${err.stack ?? err}`);
    await cleanup();
    process.exitCode = 1;
  }
}
