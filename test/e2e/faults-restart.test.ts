/**
 * Immediate server restart during `migrate up` (issue 6): a cluster of its own (restarting the
 * shared one would break the other test files) is restarted with `pg_ctl restart -m immediate`
 * at different moments of a run whose third migration sleeps for 2 s.
 *
 * After each restart (test/support/fault-aftermath.ts): exit 5 (or 0 when the run had already
 * finished), one stderr line, no claim contradicted by the database, history and schema agree,
 * the lock is free, `migrate status` matches history, and a second `migrate up` completes.
 *
 * The harness cluster runs with synchronous_commit=off, under which an immediate shutdown may
 * lose transactions the server already reported as committed; each trial's database turns it
 * back on, so "committed" means what the tool (and a production server) assume it means.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliResult } from "../support/cli.js";
import { spawnCli, splitTarget } from "../support/cli.js";
import { type Cluster, startCluster } from "../support/cluster.js";
import { SENTINEL_PASSWORD, urlForDatabase } from "../support/database.js";
import { checkAftermath, directQuery, show } from "../support/fault-aftermath.js";
import type { QueryFn } from "../support/fault-claims.js";
import { makeProject, type TestProject } from "../support/project.js";

const execFileAsync = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const IDS = ["001_t1", "002_t2", "003_t3", "004_t4"] as const;
const T2_ROWS = 100;
const MIGRATIONS = {
  "001_t1.up.sql": "create table t1 (id int);\n",
  "002_t2.up.sql": `create table t2 (id int);\ninsert into t2 select generate_series(1, ${T2_ROWS});\n`,
  "003_t3.up.sql": "select pg_sleep(2);\ncreate table t3 (id int);\n",
  "004_t4.up.sql": "create table t4 (id int);\n",
};

let cluster: Cluster;
const projects: TestProject[] = [];
const closers: Array<() => Promise<void>> = [];
const landed: string[] = [];

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  console.log(`faults-restart:\n  ${landed.join("\n  ")}`);
  for (const close of closers) await close();
  await Promise.all(projects.map((p) => p.cleanup()));
  cluster?.stop();
});

/** `pg_ctl restart -m immediate`, waiting until the server accepts connections again. */
async function restart(): Promise<void> {
  const pgCtl = join(cluster.binDir, "pg_ctl");
  // -l: without a log file the new postmaster would keep pg_ctl's stdout open (and execFile waiting).
  const args = ["-D", join(cluster.baseDir, "data"), "-l", join(cluster.baseDir, "postgres.log")];
  const argv = [...args, "-m", "immediate", "-w", "-t", "60", "restart"];
  const [cmd, cmdArgs] = isRoot ? ["runuser", ["-u", "postgres", "--", pgCtl, ...argv]] : [pgCtl, argv];
  await execFileAsync(cmd, cmdArgs, { timeout: 90_000 });
}

/** When to restart: after spawning, once the lock is taken, or while 003 sleeps; plus a delay. */
const moments = [
  { index: 1, when: "spawned", delayMs: 150 },
  { index: 2, when: "lock taken", delayMs: 0 },
  { index: 3, when: "003 running", delayMs: 0 },
  { index: 4, when: "003 running", delayMs: 800 },
  { index: 5, when: "003 running", delayMs: 1600 },
] as const;

/** Poll with a session of our own until `sql` returns n > 0 or the CLI finished. */
async function waitFor(url: string, sql: string, finished: () => boolean): Promise<void> {
  const watcher = new pg.Client({ connectionString: url });
  watcher.on("error", () => {});
  await watcher.connect();
  try {
    while (!finished()) {
      const r = await watcher.query<{ n: number }>(sql);
      if ((r.rows[0]?.n ?? 0) > 0) return;
      await sleep(10);
    }
  } finally {
    await watcher.end().catch(() => {});
  }
}

describe("immediate server restart during migrate up", () => {
  it.each(moments)("restart trial $index: $when + $delayMs ms", async ({ index, when, delayMs }) => {
    const dbName = `restart_${index}`;
    const admin = directQuery(cluster.adminUrl);
    await admin.query(`create database ${dbName} template template0`);
    await admin.query(`alter database ${dbName} set synchronous_commit = on`);
    await admin.close();
    const url = urlForDatabase(cluster.adminUrl, dbName);
    const direct = directQuery(url);
    closers.push(direct.close);
    const p = await makeProject({
      config: `database_url: \${DATABASE_URL}\nlock_timeout: 10s\n`,
      migrations: MIGRATIONS,
    });
    projects.push(p);

    const child = spawnCli(["migrate", "up"], { cwd: p.dir, env: { DATABASE_URL: url } });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    let finished = false;
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const done = new Promise<CliResult>((resolve) =>
      child.on("close", (code, signal) => {
        finished = true;
        clearTimeout(killer);
        const { target, rest } = splitTarget(stderr);
        resolve({ code, signal, stdout, stderr: rest, ...(target === undefined ? {} : { target }) });
      }),
    );

    if (when === "lock taken") {
      await waitFor(
        url,
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and granted",
        () => finished,
      );
    } else if (when === "003 running") {
      await waitFor(
        url,
        "select count(*)::int as n from pg_stat_activity where application_name like '%003_t3%' and state = 'active'",
        () => finished,
      );
    }
    const runningAtRestart = !finished;
    await sleep(delayMs);
    await restart();
    const result = await done;
    expect(result.stdout + result.stderr).not.toContain(SENTINEL_PASSWORD);
    const plan = `restart when ${when} + ${delayMs} ms${runningAtRestart ? "" : " (the run had already ended)"}`;
    try {
      expect([0, 5], show(result, plan)).toContain(result.code);
      if (runningAtRestart && when === "003 running" && delayMs < 1500) {
        // 003 was still sleeping: the run cannot have succeeded.
        expect(result.code, show(result, plan)).toBe(5);
      }
      const summary = await checkAftermath({
        result,
        p,
        schema: "public",
        directUrl: url,
        query: direct.query as QueryFn,
        ids: IDS,
        rowCounts: { t2: T2_ROWS },
        extra: plan,
      });
      landed.push(`restart #${index}: ${plan}: ${summary}`);
    } catch (err) {
      landed.push(`restart #${index}: ${plan}: FAILED ${(err as Error).message.split("\n")[0]}`);
      throw err;
    }
  });
});
