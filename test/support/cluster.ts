/**
 * A throwaway PostgreSQL cluster built from the system server binaries: initdb into a temp dir,
 * start on a free loopback port, create the password-authenticated test role, and tear it all
 * down again. Used only by global-setup.ts.
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { chown, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { SENTINEL_PASSWORD, TEST_ROLE } from "./provided-context.js";

const execFileAsync = promisify(execFile);

/** A running cluster. `stop` is synchronous and idempotent so it is safe in an "exit" handler. */
export interface Cluster {
  binDir: string;
  port: number;
  baseDir: string;
  adminUrl: string;
  stop(): void;
}

// PostgreSQL refuses to run as root, so every server binary goes through runuser in that case.
const isRoot = process.getuid?.() === 0;

/** Highest-versioned `/usr/lib/postgresql/<v>/bin` that has initdb (the Debian layout). */
export function findPgBinDir(root = "/usr/lib/postgresql"): string {
  const versions = existsSync(root) ? readdirSync(root) : [];
  const best = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0];
  if (!best) {
    throw new Error(
      `No PostgreSQL server binaries found (${root}/*/bin/initdb). Install the postgresql package, ` +
        "or set TEST_DATABASE_URL to a server where the tests may create databases.",
    );
  }
  return join(root, best, "bin");
}

/**
 * As root the server runs as `postgres`, which must be able to reach the cluster dir. A TMPDIR
 * under e.g. /root would not be, so fall back to /tmp when any ancestor is closed to others.
 */
function clusterParentDir(): string {
  const dir = tmpdir();
  if (!isRoot) return dir;
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return "/tmp";
    if (d === dirname(d)) return dir;
  }
}

function asServerUser(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

async function run(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = asServerUser(bin, args);
  try {
    await execFileAsync(cmd, argv, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${argv.join(" ")} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no server log)";
  }
}

/**
 * If this process dies without running any handler (SIGKILL, OOM), nothing else would stop the
 * postmaster. A detached shell polls our pid and stops the cluster once we are gone; it ignores
 * terminal signals because those are aimed at us, and exits by itself once the dir is removed.
 */
function startWatchdog(baseDir: string, stopCommand: [string, string[]]): ChildProcess {
  const script = [
    "trap '' INT TERM HUP",
    "parent=$1; base=$2; shift 2",
    'while kill -0 "$parent" 2>/dev/null && [ -d "$base" ]; do sleep 1; done',
    'if [ -f "$base/data/postmaster.pid" ]; then "$@" >/dev/null 2>&1; fi',
    'rm -rf "$base"',
  ].join("\n");
  const [cmd, argv] = stopCommand;
  const child = spawn("sh", ["-c", script, "watchdog", String(process.pid), baseDir, cmd, ...argv], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return child;
}

/** Start a fresh cluster and create the `confiture_test` role with the sentinel password. */
export async function startCluster(): Promise<Cluster> {
  const binDir = findPgBinDir();
  const baseDir = await mkdtemp(join(clusterParentDir(), "confiture-pg-"));
  const dataDir = join(baseDir, "data");
  const logFile = join(baseDir, "postgres.log");
  const pgCtl = join(binDir, "pg_ctl");
  const stopCommand = asServerUser(pgCtl, ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
  const watchdog = startWatchdog(baseDir, stopCommand);

  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dataDir, "postmaster.pid"))) {
      spawnSync(stopCommand[0], stopCommand[1], { stdio: "ignore", timeout: 30_000 });
    }
    rmSync(baseDir, { recursive: true, force: true });
    watchdog.kill("SIGKILL");
  };

  try {
    if (isRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      await chown(baseDir, uid, gid);
    }
    // --no-sync: the cluster lives for one run, durability buys nothing and costs seconds.
    await run(join(binDir, "initdb"), [
      ...["-D", dataDir, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256"],
      ...["-E", "UTF8", "--locale=C", "--no-sync"],
    ]);

    // The port can be taken between probing and binding, so retry with a new one.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        "-c listen_addresses=127.0.0.1",
        `-c port=${port}`,
        `-c unix_socket_directories='${baseDir}'`,
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
      ].join(" ");
      try {
        await run(pgCtl, ["-D", dataDir, "-o", options, "-l", logFile, "-w", "-t", "60", "start"]);
        break;
      } catch (err) {
        if (attempt >= 3)
          throw new Error(`${(err as Error).message}\n--- server log ---\n${logTail(logFile)}`);
      }
    }

    // Trust over the unix socket is how we get in before any password exists.
    const client = new pg.Client({ host: baseDir, port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
      await client.query(
        `CREATE ROLE ${client.escapeIdentifier(TEST_ROLE)} LOGIN SUPERUSER PASSWORD ${client.escapeLiteral(SENTINEL_PASSWORD)}`,
      );
    } finally {
      await client.end();
    }

    const adminUrl = `postgres://${TEST_ROLE}:${encodeURIComponent(SENTINEL_PASSWORD)}@127.0.0.1:${port}/postgres`;
    return { binDir, port, baseDir, adminUrl, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
