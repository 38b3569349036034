/**
 * The PostgreSQL server the bench runs against: a throwaway cluster (initdb into a temp dir,
 * free loopback port, trust auth) or the server named by BENCH_DATABASE_URL. Every tool gets the
 * same server and the same settings; only `--fast` changes them, and for everyone.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const isRoot = process.getuid?.() === 0;

/** Highest-versioned `/usr/lib/postgresql/<v>/bin` that has initdb (the Debian layout). */
export function findPgBinDir(root = "/usr/lib/postgresql") {
  const versions = existsSync(root) ? readdirSync(root) : [];
  const best = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0];
  if (!best) {
    throw new Error(
      `No PostgreSQL server binaries in ${root}/*/bin. Install the postgresql package, ` +
        "or set BENCH_DATABASE_URL to a server where the bench may create databases.",
    );
  }
  return join(root, best, "bin");
}

// PostgreSQL refuses to run as root, so server binaries go through runuser in that case.
function asServerUser(bin, args) {
  return isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

function runServerBin(bin, args) {
  const [cmd, argv] = asServerUser(bin, args);
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(" ")} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * If the bench dies without running its handlers (SIGKILL, OOM), a detached shell notices the
 * parent is gone and stops the postmaster, then removes the directory.
 */
function startWatchdog(baseDir, [cmd, argv]) {
  const script = [
    "trap '' INT TERM HUP",
    "parent=$1; base=$2; shift 2",
    'while kill -0 "$parent" 2>/dev/null && [ -d "$base" ]; do sleep 1; done',
    'if [ -f "$base/data/postmaster.pid" ]; then "$@" >/dev/null 2>&1; fi',
    'rm -rf "$base"',
  ].join("\n");
  const child = spawn("sh", ["-c", script, "watchdog", String(process.pid), baseDir, cmd, ...argv], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return child;
}

/** Server settings shared by every tool. fsync stays on unless `fast`: commits cost what they cost. */
export function serverSettings(fast) {
  const base = { log_min_messages: "warning" };
  return fast ? { ...base, fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : base;
}

/**
 * Start a throwaway cluster. Returns `{ adminUrl, binDir, settings, stop }`; `stop` is synchronous
 * and idempotent so it can run from "exit" and signal handlers.
 */
export async function startCluster({ fast }) {
  const binDir = findPgBinDir();
  const baseDir = mkdtempSync(join(tmpdir(), "confiture-bench-pg-"));
  const dataDir = join(baseDir, "data");
  const logFile = join(baseDir, "postgres.log");
  const pgCtl = join(binDir, "pg_ctl");
  const stopCommand = asServerUser(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "stop"]);
  const watchdog = startWatchdog(baseDir, stopCommand);

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dataDir, "postmaster.pid"))) {
      spawnSync(stopCommand[0], stopCommand[1], { stdio: "ignore", timeout: 60_000 });
    }
    rmSync(baseDir, { recursive: true, force: true });
    watchdog.kill("SIGKILL");
  };

  try {
    if (isRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(baseDir, uid, gid);
    }
    // --no-sync only skips syncing initdb's own files; the running server keeps fsync on.
    runServerBin(join(binDir, "initdb"), [
      ...["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
    ]);
    const settings = serverSettings(fast);
    let port = 0;
    // The port can be taken between probing and binding, so retry with a new one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        "-c listen_addresses=127.0.0.1",
        `-c port=${port}`,
        `-c unix_socket_directories='${baseDir}'`,
        ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
      ].join(" ");
      try {
        runServerBin(pgCtl, ["-D", dataDir, "-o", options, "-l", logFile, "-w", "-t", "60", "start"]);
        break;
      } catch (err) {
        if (attempt >= 3) {
          const log = existsSync(logFile)
            ? readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n")
            : "";
          throw new Error(`${err.message}\n--- server log ---\n${log}`);
        }
      }
    }
    return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, binDir, settings, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** Use an existing server (BENCH_DATABASE_URL); nothing to stop. */
export function externalServer(url) {
  let binDir;
  try {
    binDir = findPgBinDir();
  } catch {
    binDir = undefined; // psql from PATH
  }
  return { adminUrl: url, binDir, settings: { note: "external server: settings not controlled" }, stop() {} };
}
