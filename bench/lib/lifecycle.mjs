/**
 * The life of one bench run: a work directory, and on any exit (normal, an escaping error, or a
 * signal) the bench cluster stopped and the directory removed; on a signal the bench databases
 * are dropped first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
