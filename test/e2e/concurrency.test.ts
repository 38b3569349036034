/**
 * Many `migrate up` processes started at once on one database: the migration lock serializes
 * them, every migration is applied exactly once, every process succeeds, and the lock is free
 * afterwards. Also when the tracking table does not exist yet when they start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import { createTestDatabase, SENTINEL_PASSWORD, type TestDatabase } from "../support/database.js";
import { migrationLockSessions, waitUntilConfitureIdle } from "../support/migration-lock.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("concurrency");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

/** `count` migrations in `schema`; each logs its own id in applied_log, every fourth also sleeps. */
function migrations(schema: string, count: number): { files: Record<string, string>; ids: string[] } {
  const files: Record<string, string> = {};
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `${String(i).padStart(3, "0")}_step_${i}`;
    ids.push(id);
    const lines = [
      i === 1 ? `create table ${schema}.applied_log (id text not null);` : "",
      `create table ${schema}.t${i} (id int primary key);`,
      i % 4 === 0 ? "select pg_sleep(0.05);" : "",
      `insert into ${schema}.applied_log values ('${id}');`,
    ];
    files[`${id}.up.sql`] = `${lines.filter(Boolean).join("\n")}\n`;
  }
  return { files, ids };
}

async function project(schema: string, files: Record<string, string>): Promise<TestProject> {
  const p = await makeProject({ config: `schema: ${schema}\nlock_timeout: 60s\n`, migrations: files });
  projects.push(p);
  return p;
}

/** Start `n` `migrate up --format json` processes at once and wait for all of them. */
function raceUp(p: TestProject, n: number): Promise<CliResult[]> {
  const runs: Promise<CliResult>[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(runCli(["migrate", "up", "--format", "json"], { cwd: p.dir, env: { DATABASE_URL: db.url } }));
  }
  return Promise.all(runs);
}

/** Each process printed one JSON document; returns the ids every process says it applied. */
function appliedByEach(results: CliResult[]): string[][] {
  return results.map((r) => {
    expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
    expect(r.stderr, r.stderr).toBe("");
    expect(r.code, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; applied: { id: string }[] };
    expect(doc.ok).toBe(true);
    return doc.applied.map((a) => a.id);
  });
}

async function expectAppliedExactlyOnce(schema: string, ids: string[]): Promise<void> {
  const tracking = await db.query<{ version: string; status: string }>(
    `select version, status from ${schema}.confiture_migrations order by version`,
  );
  expect(tracking.rows).toEqual(ids.map((version) => ({ version, status: "applied" })));
  const log = await db.query<{ id: string; n: number }>(
    `select id, count(*)::int as n from ${schema}.applied_log group by id order by id`,
  );
  expect(log.rows).toEqual(ids.map((id) => ({ id, n: 1 })));
  const tables = await db.query<{ n: number }>(
    "select count(*)::int as n from pg_tables where schemaname = $1 and tablename ~ '^t[0-9]+$'",
    [schema],
  );
  expect(tables.rows[0]?.n).toBe(ids.length);
}

async function expectLockFree(p: TestProject): Promise<void> {
  expect(await waitUntilConfitureIdle(db)).toBe(true);
  expect(await migrationLockSessions(db)).toEqual([]);
  const r = await runCli(["lock", "status", "--format", "json"], {
    cwd: p.dir,
    env: { DATABASE_URL: db.url },
  });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, held: false, holder: null, waiting: [] });
}

describe("concurrent migrate up", () => {
  it("10 processes at once on 20 migrations: all exit 0, each migration applied exactly once", async () => {
    const schema = "conc_ten";
    const { files, ids } = migrations(schema, 20);
    const p = await project(schema, files);

    const results = await raceUp(p, 10);
    const applied = appliedByEach(results);
    // Together the processes applied every migration once, in order, and nobody applied one twice.
    expect(applied.flat().sort()).toEqual(ids);
    for (const list of applied) expect(list).toEqual([...list].sort());

    await expectAppliedExactlyOnce(schema, ids);
    // One run did the work; the audit table has one success row listing all 20, and no failures.
    const events = await db.query<{ outcome: string; applied: string[] }>(
      `select outcome, details->'applied' as applied from ${schema}.confiture_events where command = 'migrate up'`,
    );
    expect(events.rows).toEqual([{ outcome: "success", applied: ids }]);
    await expectLockFree(p);
  });

  it.each([1, 2, 3])(
    "two processes racing on a fresh schema without a tracking table both exit 0 (round %i)",
    async (round) => {
      const schema = `conc_fresh_${round}`;
      const { files, ids } = migrations(schema, 3);
      const p = await project(schema, files);
      const exists = await db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [
        `${schema}.confiture_migrations`,
      ]);
      expect(exists.rows[0]?.ok).toBe(false);

      const applied = appliedByEach(await raceUp(p, 2));
      expect(applied.flat().sort()).toEqual(ids);
      await expectAppliedExactlyOnce(schema, ids);
      const tables = await db.query<{ tablename: string }>(
        "select tablename from pg_tables where schemaname = $1 and tablename like 'confiture%' order by 1",
        [schema],
      );
      expect(tables.rows.map((r) => r.tablename)).toEqual(["confiture_events", "confiture_migrations"]);
      await expectLockFree(p);
    },
  );
});
