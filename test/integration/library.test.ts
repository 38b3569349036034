/**
 * The library API against real PostgreSQL: results and typed errors, never printing.
 * (The CLI is covered end to end in test/e2e; this is what `import { ... } from "confiture"` gives.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { acquireMigrationLock, migrationLockKey, releaseMigrationLock } from "../../src/db/advisory-lock.js";
import { openSession } from "../../src/db/session.js";
import {
  baseline,
  CheckFailedError,
  ConnectionError,
  LockTimeoutError,
  loadConfig,
  MigrationFailedError,
  MigrationFileError,
  migrateDown,
  migrateUp,
  migrationStatus,
} from "../../src/index.js";
import { createTestDatabase, type TestDatabase, urlWithPassword } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("library");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db.drop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function project(schema: string, migrations: Record<string, string>) {
  const p = await makeProject({ config: `schema: ${schema}\nlock_timeout: 1s\n`, migrations });
  projects.push(p);
  return loadConfig({ cwd: p.dir, databaseUrl: db.url, env: {} });
}

describe("library", () => {
  it("applies migrations, returns results, and writes nothing to stdout or stderr", async () => {
    const out = vi.spyOn(process.stdout, "write");
    const err = vi.spyOn(process.stderr, "write");
    const config = await project("lib_ok", {
      "001_a.up.sql": "create table lib_ok.a (id int);",
      "002_b.up.sql": "create table lib_ok.b (id int);",
      "002_b.down.sql": "drop table lib_ok.b;",
    });
    const up = await migrateUp(config);
    expect(up.applied.map((a) => a.id)).toEqual(["001_a", "002_b"]);
    const status = await migrationStatus(config);
    expect(status.migrations.map((m) => [m.id, m.state])).toEqual([
      ["001_a", "applied"],
      ["002_b", "applied"],
    ]);
    const down = await migrateDown(config, { steps: 1 });
    expect(down.rolledBack.map((r) => r.id)).toEqual(["002_b"]);
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
  });

  it("resolves unqualified names in migrations to the managed schema", async () => {
    const config = await project("lib_path", { "001_a.up.sql": "create table widgets (id int);" });
    await migrateUp(config);
    const where = await db.query("select schemaname from pg_tables where tablename = 'widgets'");
    expect(where.rows.map((r) => r.schemaname)).toEqual(["lib_path"]);
  });

  it("throws MigrationFailedError with migration, line and SQLSTATE, and keeps earlier migrations", async () => {
    const config = await project("lib_fail", {
      "001_a.up.sql": "create table lib_fail.a (id int);",
      "002_b.up.sql": "create table lib_fail.b (id int);\n\ninsert into lib_fail.missing values (1);\n",
    });
    const failure = await migrateUp(config).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrationFailedError);
    const f = failure as MigrationFailedError;
    expect([f.migration, f.line, f.sqlstate, f.category]).toEqual(["002_b", 3, "42P01", "failed"]);
    const tables = await db.query("select tablename from pg_tables where schemaname = 'lib_fail' order by 1");
    expect(tables.rows.map((r) => r.tablename)).toEqual(["a", "confiture_events", "confiture_migrations"]);
  });

  it("names the line of a failing statement even when the server gives no position", async () => {
    const config = await project("lib_line", {
      "001_a.up.sql": "create table a (id int);\n\ninsert into a values (1);\nselect 1 / 0;\nselect 2;\n",
    });
    const f = (await migrateUp(config).catch((e: unknown) => e)) as MigrationFailedError;
    expect(f).toBeInstanceOf(MigrationFailedError);
    expect([f.line, f.sqlstate]).toEqual([4, "22012"]);
    const left = await db.query("select to_regclass('lib_line.a') as t");
    expect(left.rows[0]?.t).toBeNull();
  });

  it("maps server positions in code points (emoji, accents) to the right line", async () => {
    const config = await project("lib_cp", {
      "001_a.up.sql": "create table t (id int);\nselect 'é🎉🎉',\n  1,\nmissing_col\nfrom t;\n",
    });
    const f = (await migrateUp(config).catch((e: unknown) => e)) as MigrationFailedError;
    expect([f.line, f.sqlstate]).toEqual([4, "42703"]);
  });

  it("refuses to start on a changed file with --verify-checksums (CheckFailedError)", async () => {
    const config = await project("lib_sum", { "001_a.up.sql": "create table lib_sum.a (id int);" });
    await migrateUp(config);
    await db.query("update lib_sum.confiture_migrations set checksum = 'tampered'");
    const err = await migrateUp(config, { verifyChecksums: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckFailedError);
    expect((err as CheckFailedError).code).toBe("CHECKSUM_MISMATCH");
  });

  it("rejects duplicate numeric versions naming both files (MigrationFileError)", async () => {
    const config = await project("lib_dup", { "001_a.up.sql": "select 1;", "1_b.up.sql": "select 1;" });
    const err = (await migrateUp(config).catch((e: unknown) => e)) as MigrationFileError;
    expect(err).toBeInstanceOf(MigrationFileError);
    expect(err.message).toContain("001_a.up.sql");
    expect(err.message).toContain("1_b.up.sql");
  });

  it("a held lock makes the next acquirer time out with LockTimeoutError naming the holder", async () => {
    const holder = await openSession({ connectionString: db.url, applicationName: "confiture: test holder" });
    const waiter = await openSession({ connectionString: db.url, applicationName: "confiture: test waiter" });
    const key = migrationLockKey("public", "confiture_migrations");
    try {
      await acquireMigrationLock(holder, key, 1000);
      const err = (await acquireMigrationLock(waiter, key, 300).catch((e: unknown) => e)) as LockTimeoutError;
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(err.message).toContain(`pid ${holder.pid}`);
      expect(err.message).toContain("confiture: test holder");
      await releaseMigrationLock(holder, key);
      await acquireMigrationLock(waiter, key, 1000);
    } finally {
      await holder.close();
      await waiter.close();
    }
  });

  it("maps a wrong password to ConnectionError without the password in the message", async () => {
    const config = await project("lib_conn", {});
    const bad = { ...config, database: { url: urlWithPassword(db.url, "wrong-PW-4471"), source: "test" } };
    const err = (await migrationStatus(bad).catch((e: unknown) => e)) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.category).toBe("connection");
    expect(err.message).toContain("28P01");
    expect(err.message).not.toContain("wrong-PW-4471");
  });

  it("baseline adds the columns a hand-made tracking table lacks before reading it, and records an event", async () => {
    const config = await project("lib_hand", {
      "001_a.up.sql": "create table a (id int);",
      "002_b.up.sql": "create table b (id int);",
    });
    await db.query("create schema lib_hand");
    await db.query(
      "create table lib_hand.confiture_migrations (version text primary key, applied_at timestamptz not null default now(), checksum text)",
    );
    const r = await baseline(config, "002_b");
    expect(r).toEqual({ baselined: ["001_a", "002_b"], skipped: [] });
    const rows = await db.query("select version, status from lib_hand.confiture_migrations order by version");
    expect(rows.rows).toEqual([
      { version: "001_a", status: "baseline" },
      { version: "002_b", status: "baseline" },
    ]);
    const events = await db.query("select command, outcome from lib_hand.confiture_events");
    expect(events.rows).toEqual([{ command: "migrate baseline", outcome: "success" }]);
  });
});
