/**
 * An operator presses Ctrl-C, or Kubernetes sends SIGTERM (`kubectl delete job`), while a
 * migration runs: one line says what happened, the exit code is 130 / 143, the running
 * migration leaves no trace, earlier ones stay applied, and the lock is free.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { eventually, watchCli } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("interrupt");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

async function sleepingProject(schema: string): Promise<TestProject> {
  const p = await makeProject({
    config: `schema: ${schema}\n`,
    migrations: {
      "001_a.up.sql": "create table a (id int);",
      "002_slow.up.sql": "create table b (id int);\nselect pg_sleep(30);\n",
    },
  });
  projects.push(p);
  return p;
}

/** Wait until the migration lock's holder is inside pg_sleep, seen from the catalog. */
async function waitForSleep(): Promise<void> {
  await eventually(async () => {
    const r = await db.query(
      "select 1 from pg_stat_activity where datname = current_database() and query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid()",
    );
    return r.rowCount ? true : undefined;
  }, "the migration to be sleeping");
}

async function versions(schema: string): Promise<string[]> {
  const r = await db.query<{ version: string }>(
    `select version from ${schema}.confiture_migrations order by 1`,
  );
  return r.rows.map((x) => x.version);
}

async function lockFree(): Promise<boolean> {
  return eventually(async () => {
    const r = await db.query(
      "select 1 from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())",
    );
    return r.rowCount === 0 ? true : undefined;
  }, "the migration lock to be released");
}

describe("interrupting migrate up", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "%s: one line, exit %i, the running migration rolled back, the lock free",
    async (signal, code) => {
      const schema = `intr_${signal.toLowerCase()}`;
      const p = await sleepingProject(schema);
      const run = watchCli(["migrate", "up"], { cwd: p.dir, env: { DATABASE_URL: db.url } });
      await waitForSleep();
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code).toBe(code);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringContaining(
          `error: interrupted by ${signal}: PostgreSQL rolls back the migration that was running`,
        ),
      ]);
      expect(await lockFree()).toBe(true);
      expect(await versions(schema)).toEqual(["001_a"]);
      const b = await db.query(`select to_regclass('${schema}.b') as t`);
      expect(b.rows[0]?.t).toBeNull();
    },
  );

  it("with --format json, stdout is one error document carrying the signal's exit code", async () => {
    const p = await sleepingProject("intr_json");
    const run = watchCli(["migrate", "up", "--format", "json"], {
      cwd: p.dir,
      env: { DATABASE_URL: db.url },
    });
    await waitForSleep();
    run.child.kill("SIGTERM");
    const r = await run.done;
    expect(r.code).toBe(143);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; exitCode: number } };
    expect(doc).toMatchObject({ ok: false, error: { code: "INTERRUPTED", exitCode: 143 } });
    expect(await lockFree()).toBe(true);
  });
});

describe("interrupting a read-only command", () => {
  it("drift-detect mid-replay: one line saying nothing in the database changed, and where the scratch database went", async () => {
    const p = await makeProject({
      config: "schema: intr_drift\n",
      migrations: { "001_a.up.sql": "create table a (id int);\nselect 1;\n" },
    });
    projects.push(p);
    const env = { DATABASE_URL: db.url };
    await db.query("create schema intr_drift");
    const up = watchCli(["migrate", "up"], { cwd: p.dir, env });
    expect((await up.done).code).toBe(0);
    // Replayed as the file is now: it sleeps in the scratch database.
    await p.write("db/migrations/001_a.up.sql", "create table a (id int);\nselect pg_sleep(30);\n");
    const run = watchCli(["migrate", "drift-detect"], { cwd: p.dir, env });
    await eventually(async () => {
      const r = await db.query(
        "select 1 from pg_stat_activity where datname like 'confiture_scratch_%' and query like '%pg_sleep(30)%' and state = 'active'",
      );
      return r.rowCount ? true : undefined;
    }, "the replay to be sleeping");
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      "error: interrupted by SIGINT: this command changes nothing in the configured database; the scratch database it was building (confiture_scratch_...) is dropped by the next run that needs one",
    );
  });
});
