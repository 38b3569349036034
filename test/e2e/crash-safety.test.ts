/**
 * Crash safety: `migrate up` is killed with SIGKILL at seeded random moments. Afterwards the
 * history never lies: a transactional migration is recorded exactly when its effects exist, a
 * no-transaction migration is either applied, or recorded as failed ("in progress ... interrupted")
 * as soon as any of its statements could have run. The lock is free once the server notices the
 * dead client, and a second `migrate up` (after `resolve` where needed) applies everything once.
 *
 * Seeds: CRASH_SEED=<n> fixes the base seed (trial i uses n + i); it is printed in each test name.
 */
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli } from "../support/cli.js";
import { createTestDatabase, SENTINEL_PASSWORD, type TestDatabase } from "../support/database.js";
import { prng } from "../support/fault-aftermath.js";
import { migrationLockSessions, waitUntilConfitureIdle } from "../support/migration-lock.js";
import { makeProject, type TestProject } from "../support/project.js";

const MIGRATIONS = 15;
const TRANSACTIONAL_TRIALS = 20;
const NO_TRANSACTION_TRIALS = 3;
/** Position of the no-transaction migration in the no-transaction trials. */
const NO_TX_AT = 8;
const NO_TX_ID = `${String(NO_TX_AT).padStart(3, "0")}_no_tx`;

const BASE_SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trial {
  index: number;
  seed: number;
  noTx: boolean;
}
const TRIALS: Trial[] = Array.from({ length: TRANSACTIONAL_TRIALS + NO_TRANSACTION_TRIALS }, (_, i) => ({
  index: i + 1,
  seed: BASE_SEED + i + 1,
  noTx: i >= TRANSACTIONAL_TRIALS,
}));

const idOf = (n: number, noTx: boolean) =>
  noTx && n === NO_TX_AT ? NO_TX_ID : `${String(n).padStart(3, "0")}_step_${n}`;

/**
 * Migration n creates table t<n> and logs its id, in one transaction; every fourth also sleeps so
 * kills land inside a migration. In no-transaction trials migration NO_TX_AT instead runs five
 * statements outside a transaction: create nt, sleep, create index concurrently, sleep, log.
 */
function migrationFiles(schema: string, noTx: boolean): Record<string, string> {
  const files: Record<string, string> = {};
  for (let n = 1; n <= MIGRATIONS; n++) {
    const id = idOf(n, noTx);
    let sql: string;
    if (id === NO_TX_ID) {
      sql = [
        "-- confiture:no-transaction",
        `create table ${schema}.nt (id int);`,
        "select pg_sleep(0.1);",
        `create index concurrently nt_id_idx on ${schema}.nt (id);`,
        "select pg_sleep(0.1);",
        `insert into ${schema}.log values ('${id}');`,
      ].join("\n");
    } else {
      sql = [
        n === 1 ? `create table ${schema}.log (id text not null);` : "",
        `create table ${schema}.t${n} (id int primary key);`,
        `insert into ${schema}.t${n} select g from generate_series(1, 100) g;`,
        n % 4 === 0 ? "select pg_sleep(0.02);" : "",
        `insert into ${schema}.log values ('${id}');`,
      ]
        .filter(Boolean)
        .join("\n");
    }
    files[`${id}.up.sql`] = `${sql}\n`;
  }
  return files;
}

let db: TestDatabase;
/** One long-lived connection for polling and checks (connecting per query would be slow). */
let client: pg.Client;
const projects: TestProject[] = [];
/** Wall time of a `migrate up` with nothing to do: start-up, connect, lock, read history. */
let idleRunMs = 500;
const landed: string[] = [];

async function newProject(schema: string, noTx: boolean): Promise<TestProject> {
  const p = await makeProject({
    config: `database_url: ${db.url}\nschema: ${schema}\nlock_timeout: 30s\n`,
    migrations: migrationFiles(schema, noTx),
  });
  projects.push(p);
  return p;
}

beforeAll(async () => {
  db = await createTestDatabase("crash safety");
  client = new pg.Client({ connectionString: db.url });
  client.on("error", () => {});
  await client.connect();
  const p = await makeProject({ config: `database_url: ${db.url}\nschema: crash_calibration\n` });
  projects.push(p);
  await runCli(["migrate", "up"], { cwd: p.dir });
  const started = performance.now();
  const r = await runCli(["migrate", "up"], { cwd: p.dir });
  idleRunMs = performance.now() - started;
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  console.log(`crash-safety (CRASH_SEED=${BASE_SEED}): ${landed.join("; ")}`);
  await client?.end();
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

async function exists(qualified: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

interface State {
  tracking: Map<string, { status: string; error: string | null }>;
  tables: Set<string>;
  indexes: Set<string>;
  log: Map<string, number>;
}

async function readState(schema: string): Promise<State> {
  const tracking = new Map<string, { status: string; error: string | null }>();
  if (await exists(`${schema}.confiture_migrations`)) {
    const r = await client.query<{ version: string; status: string; error: string | null }>(
      `select version, status, error from ${schema}.confiture_migrations`,
    );
    for (const row of r.rows) tracking.set(row.version, { status: row.status, error: row.error });
  }
  const tables = await client.query<{ tablename: string }>(
    "select tablename from pg_tables where schemaname = $1",
    [schema],
  );
  const indexes = await client.query<{ indexname: string }>(
    "select indexname from pg_indexes where schemaname = $1",
    [schema],
  );
  const log = new Map<string, number>();
  if (await exists(`${schema}.log`)) {
    const r = await client.query<{ id: string; n: number }>(
      `select id, count(*)::int as n from ${schema}.log group by id`,
    );
    for (const row of r.rows) log.set(row.id, row.n);
  }
  return {
    tracking,
    tables: new Set(tables.rows.map((t) => t.tablename)),
    indexes: new Set(indexes.rows.map((i) => i.indexname)),
    log,
  };
}

/** Rows in the tracking table right now (0 while it does not exist). */
async function recordedCount(schema: string): Promise<number> {
  try {
    const r = await client.query<{ n: number }>(
      `select count(*)::int as n from ${schema}.confiture_migrations`,
    );
    return r.rows[0]?.n ?? 0;
  } catch {
    return 0;
  }
}

/** Rows with status applied right now (0 while the tracking table does not exist). */
async function appliedCount(schema: string): Promise<number> {
  try {
    const r = await client.query<{ n: number }>(
      `select count(*)::int as n from ${schema}.confiture_migrations where status = 'applied'`,
    );
    return r.rows[0]?.n ?? 0;
  } catch {
    return 0;
  }
}

/** Resolves when the child has exited (or was killed). */
function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, output })));
}

/**
 * Start `migrate up` and SIGKILL it at a moment chosen by `random`:
 * transactional trials either after a random delay from the start (start-up, connecting, taking
 * the lock, creating the tracking table) or right after a random number of migrations were
 * committed; no-transaction trials at a random point while the no-transaction migration runs.
 */
async function killDuringUp(p: TestProject, schema: string, trial: Trial, random: () => number) {
  const child = spawnCli(["migrate", "up"], { cwd: p.dir });
  const done = exited(child);
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  let plan: string;
  if (trial.noTx) {
    // Each no-transaction trial gets its own third of the ~220 ms the migration takes, so the
    // kills spread over its statements. The trigger is the migration before it being committed,
    // not the no-transaction migration's own history row, which is what is under test.
    const third = (trial.index - TRANSACTIONAL_TRIALS - 1) % 3;
    const jitter = Math.round((third + random()) * 80);
    plan = `after ${NO_TX_AT - 1} committed + ${jitter}ms`;
    while (!finished && (await appliedCount(schema)) < NO_TX_AT - 1) await sleep(2);
    await sleep(jitter);
  } else if (random() < 0.25) {
    const delay = Math.round(random() * idleRunMs * 1.3);
    plan = `after ${delay}ms`;
    await sleep(delay);
  } else {
    const after = Math.floor(random() * MIGRATIONS);
    const jitter = Math.round(random() * 15);
    plan = `after ${after} committed + ${jitter}ms`;
    while (!finished && (await recordedCount(schema)) < after) await sleep(2);
    await sleep(jitter);
  }
  child.kill("SIGKILL");
  const result = await done;
  expect(result.output).not.toContain(SENTINEL_PASSWORD);
  return { ...result, plan };
}

/** The invariants that must hold at any moment, in particular right after a kill. */
function checkConsistent(state: State, noTx: boolean): void {
  for (let n = 1; n <= MIGRATIONS; n++) {
    const id = idOf(n, noTx);
    const row = state.tracking.get(id);
    const logged = state.log.get(id) ?? 0;
    expect(logged, `${id} logged ${logged} times`).toBeLessThanOrEqual(1);
    if (id === NO_TX_ID) {
      checkNoTx(state, row, logged);
      continue;
    }
    const recorded = row !== undefined;
    expect(row?.status ?? "applied", `${id} row status`).toBe("applied");
    expect({ id, tableExists: state.tables.has(`t${n}`) }).toEqual({ id, tableExists: recorded });
    expect({ id, logged: logged === 1 }).toEqual({ id, logged: recorded });
  }
  // Migrations run in order, so what is recorded is always the first k of them.
  const ids = Array.from({ length: MIGRATIONS }, (_, i) => idOf(i + 1, noTx));
  expect([...state.tracking.keys()].sort()).toEqual(ids.slice(0, state.tracking.size));
}

/** The no-transaction migration: absent, applied, or failed with an honest in-progress note. */
function checkNoTx(state: State, row: { status: string; error: string | null } | undefined, logged: number) {
  const tableExists = state.tables.has("nt");
  const indexExists = state.indexes.has("nt_id_idx");
  if (row === undefined) {
    // No row is only allowed when not even its first statement ran.
    expect({ tableExists, indexExists, logged }).toEqual({
      tableExists: false,
      indexExists: false,
      logged: 0,
    });
    return;
  }
  if (row.status === "applied") {
    expect({ tableExists, indexExists, logged }).toEqual({ tableExists: true, indexExists: true, logged: 1 });
    return;
  }
  expect(row.status).toBe("failed");
  expect(row.error).toMatch(/in progress: \d+ of 5 statements completed/);
  expect(row.error).toMatch(/interrupted/);
  const completed = Number(/in progress: (\d+) of/.exec(row.error ?? "")?.[1]);
  // The note may lag one statement behind the effects, never run ahead of them.
  if (completed >= 1) expect(tableExists).toBe(true);
  if (completed >= 3) expect(indexExists).toBe(true);
}

async function expectLockFree(p: TestProject): Promise<void> {
  // The server needs a moment to notice the dead client (at most until its statement ends).
  expect(await waitUntilConfitureIdle(db, 15_000)).toBe(true);
  expect(await migrationLockSessions(db)).toEqual([]);
  const r = await runCli(["lock", "status", "--format", "json"], { cwd: p.dir });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, held: false, holder: null });
}

/** Settle an interrupted no-transaction migration the way the README says: clean up, resolve. */
async function settleInterrupted(p: TestProject, schema: string): Promise<void> {
  const refused = await runCli(["migrate", "up"], { cwd: p.dir });
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toMatch(new RegExp(`^error: migration ${NO_TX_ID} is recorded as failed .*resolve`));
  expect(refused.stderr.split("\n")).toHaveLength(2);
  expect(refused.code).toBe(3);
  const status = await runCli(["migrate", "status", "--format", "json"], { cwd: p.dir });
  expect(status.code).toBe(3);
  expect(JSON.parse(status.stdout).migrations).toContainEqual(
    expect.objectContaining({ id: NO_TX_ID, state: "failed" }),
  );
  await client.query(`drop table if exists ${schema}.nt`);
  await client.query(`delete from ${schema}.log where id = $1`, [NO_TX_ID]);
  const resolved = await runCli(["migrate", "resolve", NO_TX_ID, "--rolled-back"], { cwd: p.dir });
  expect(resolved.stderr).toBe("");
  expect(resolved.code).toBe(0);
}

describe("SIGKILL during migrate up", () => {
  it.each(TRIALS)("trial $index (seed $seed, no-transaction migration: $noTx)", async (trial) => {
    const random = prng(trial.seed);
    const schema = `crash_${String(trial.index).padStart(2, "0")}`;
    const p = await newProject(schema, trial.noTx);

    const killed = await killDuringUp(p, schema, trial, random);
    expect(killed.signal === "SIGKILL" || killed.code === 0, killed.output).toBe(true);
    await expectLockFree(p);

    const state = await readState(schema);
    checkConsistent(state, trial.noTx);
    const noTxRow = state.tracking.get(NO_TX_ID);
    landed.push(
      `#${trial.index} ${killed.plan}: ${killed.signal ?? `exit ${killed.code}`}, ` +
        `${[...state.tracking.values()].filter((r) => r.status === "applied").length} applied` +
        (noTxRow ? `, ${NO_TX_ID} ${noTxRow.status}` : ""),
    );

    if (noTxRow?.status === "failed") await settleInterrupted(p, schema);
    // The second run applies exactly what the first one did not get to.
    const recorded = new Set((await readState(schema)).tracking.keys());
    const missing = Array.from({ length: MIGRATIONS }, (_, i) => idOf(i + 1, trial.noTx)).filter(
      (id) => !recorded.has(id),
    );
    const again = await runCli(["migrate", "up", "--format", "json"], { cwd: p.dir });
    expect(again.stdout + again.stderr).not.toContain(SENTINEL_PASSWORD);
    expect(again.stderr).toBe("");
    expect(again.code, again.stdout).toBe(0);
    const doc = JSON.parse(again.stdout) as { applied: { id: string }[]; alreadyApplied: number };
    expect(doc.applied.map((a) => a.id)).toEqual(missing);
    expect(doc.alreadyApplied).toBe(MIGRATIONS - missing.length);

    const final = await readState(schema);
    checkConsistent(final, trial.noTx);
    for (let n = 1; n <= MIGRATIONS; n++) {
      const id = idOf(n, trial.noTx);
      expect({ id, row: final.tracking.get(id)?.status, logged: final.log.get(id) }).toEqual({
        id,
        row: "applied",
        logged: 1,
      });
    }
    await expectLockFree(p);
  });
});
