/**
 * A small throwaway cluster of a test's own with WAL archiving on (`archive_mode = on` and the
 * given `archive_command`), on a free port with trust authentication (no password to leak):
 * for what the shared cluster cannot show (archiving, restore points, recovery).
 * `stop` is synchronous and also removes the directory.
 */
import { execFile, execFileSync } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { inject } from "vitest";
import { findPgBinDir } from "./cluster.js";
import { closedPort } from "./e2e.js";

const execFileAsync = promisify(execFile);
const isRoot = process.getuid?.() === 0;

export interface ArchivingCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust: no password). */
  url: string;
  /** The cluster's own directory (data in `data/`, log in `log`). */
  base: string;
  /** The data directory (`base/data`, owned by postgres when the tests run as root). */
  data: string;
  /** The PostgreSQL binary directory the cluster runs from. */
  binDir: string;
  query<R>(sql: string): Promise<R[]>;
  /** Run a server program (pg_ctl, pg_basebackup, ...) as the cluster's owner; resolves with stdout. */
  run(bin: string, args: string[]): Promise<string>;
  /** Start the server on `data` again (same port and options), waiting until it accepts connections. */
  start(): Promise<void>;
  /** Stop the server (fast shutdown) without removing anything. */
  stopFast(): Promise<void>;
  stop(): void;
}

/**
 * Start one. `archiveCommand` is written to postgresql.conf (not the command line, which would
 * outrank a test's ALTER SYSTEM); `%p` and `%f` work as usual.
 * @example const c = await startArchivingCluster("false"); try { ... } finally { c.stop(); }
 */
export async function startArchivingCluster(archiveCommand: string): Promise<ArchivingCluster> {
  const binDir = inject("pgBinDir") || findPgBinDir();
  const base = mkdtempSync(join(isRoot ? "/tmp" : tmpdir(), "confiture-archiving-"));
  const data = join(base, "data");
  const asServer = (bin: string, args: string[]): [string, string[]] =>
    isRoot ? ["runuser", ["-u", "postgres", "--", join(binDir, bin), ...args]] : [join(binDir, bin), args];
  if (isRoot) {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    chownSync(base, id("-u"), id("-g"));
  }
  const stop = () => {
    const [cmd, args] = asServer("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    try {
      execFileSync(cmd, args, { stdio: "ignore", timeout: 30_000 });
    } catch {
      // not started
    }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    const [initdb, initArgs] = asServer("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
    await execFileAsync(initdb, initArgs);
    appendFileSync(
      join(data, "postgresql.conf"),
      `archive_mode = on\narchive_command = '${archiveCommand}'\n`,
    );
    const port = await closedPort();
    const options = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${base}' -c fsync=off`;
    const run = async (bin: string, args: string[]): Promise<string> => {
      const [cmd, cmdArgs] = asServer(bin, args);
      return (await execFileAsync(cmd, cmdArgs, { timeout: 60_000 })).stdout;
    };
    const start = async (): Promise<void> => {
      await run("pg_ctl", ["-D", data, "-o", options, "-l", join(base, "log"), "-w", "-t", "60", "start"]);
    };
    const stopFast = async (): Promise<void> => {
      await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
    };
    await start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const query = async <R>(sql: string): Promise<R[]> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql)).rows as R[];
      } finally {
        await client.end();
      }
    };
    return { url, base, data, binDir, query, run, start, stopFast, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
