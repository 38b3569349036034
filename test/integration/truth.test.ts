/**
 * What the library says under conditions PostgreSQL decides, against a real server: a
 * no-transaction statement that leaves a transaction open, a read-only server, a role-level
 * statement_timeout during the lock wait, and a connection lost while reading history.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireMigrationLock, migrationLockKey, releaseMigrationLock } from "../../src/db/advisory-lock.js";
import { openSession } from "../../src/db/session.js";
import { historyStore } from "../../src/history/index.js";
import {
  type ConfitureError,
  ConnectionLostError,
  LockTimeoutError,
  loadConfig,
  MigrationFailedError,
  migrateUp,
} from "../../src/index.js";
import { runScript } from "../../src/migrations/runner.js";
import { splitSql } from "../../src/sql/split.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("truth");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db.drop();
});

async function project(config: string, migrations: Record<string, string>) {
  const p = await makeProject({ config, migrations });
  projects.push(p);
  return loadConfig({ cwd: p.dir, databaseUrl: db.url, env: {} });
}

describe("telling the truth", () => {
  it("a no-transaction statement that leaves a transaction open fails the migration instead of passing as applied", async () => {
    // Preflight refuses BEGIN in a no-transaction file; this drives the runner directly to prove
    // the runtime check behind it.
    await db.query("create schema tx_open");
    const session = await openSession({
      connectionString: db.url,
      applicationName: "confiture: test",
      schema: "tx_open",
    });
    try {
      const history = historyStore(session, { schema: "tx_open", trackingTable: "confiture_migrations" });
      await history.ensure();
      const sql = "create table pre (id int);\nbegin;\ncreate table inside (id int);\n";
      const script = {
        id: "001_open",
        file: "001_open.up.sql",
        direction: "up" as const,
        sql,
        statements: await splitSql(sql),
        noTransaction: true,
      };
      const err = await runScript(session, script, {
        history,
        name: "open",
        checksum: "0".repeat(64),
        statementLockTimeoutMs: 1000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationFailedError);
      expect((err as Error).message).toContain("statement 2 of 3 (line 2) left a transaction open");
      expect(session.transactionStatus()).toBe("idle");
    } finally {
      await session.close();
    }
    const rows = await db.query("select version, status, error from tx_open.confiture_migrations");
    expect(rows.rows).toMatchObject([{ version: "001_open", status: "failed" }]);
    expect(rows.rows[0]?.error).toContain("left a transaction open");
    const tables = await db.query("select tablename from pg_tables where schemaname = 'tx_open' order by 1");
    expect(tables.rows.map((r) => r.tablename)).toEqual(["confiture_events", "confiture_migrations", "pre"]);
  });

  it("refuses to change a read-only server before taking the lock or creating anything", async () => {
    const ro = await createTestDatabase("truth_ro");
    try {
      await ro.query(`alter database ${JSON.stringify(ro.name)} set default_transaction_read_only = on`);
      const p = await makeProject({
        config: "schema: ro_s\n",
        migrations: { "001_a.up.sql": "create table a (id int);" },
      });
      projects.push(p);
      const config = await loadConfig({ cwd: p.dir, databaseUrl: ro.url, env: {} });
      const err = (await migrateUp(config).catch((e: unknown) => e)) as ConfitureError;
      expect(err.code).toBe("SERVER_READ_ONLY");
      expect(err.category).toBe("connection");
      expect(err.message).toContain("connect to the primary");
      const schemas = await ro.query("select count(*)::int as n from pg_namespace where nspname = 'ro_s'");
      expect(schemas.rows[0]?.n).toBe(0);
    } finally {
      await ro.drop();
    }
  });

  it("a role-level statement_timeout does not cut the lock wait short: LockTimeoutError after lock_timeout", async () => {
    const config = await project("schema: st_s\nlock_timeout: 2s\n", {
      "001_a.up.sql": "create table a (id int);",
    });
    const holder = await openSession({ connectionString: db.url, applicationName: "confiture: test holder" });
    await db.query(`alter database ${JSON.stringify(db.name)} set statement_timeout = '500ms'`);
    try {
      await acquireMigrationLock(holder, migrationLockKey("st_s", "confiture_migrations"), 1000);
      const started = performance.now();
      const err = await migrateUp(config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect((err as Error).message).toContain(`pid ${holder.pid}`);
      expect(performance.now() - started).toBeGreaterThan(1500);
      await releaseMigrationLock(holder, migrationLockKey("st_s", "confiture_migrations"));
    } finally {
      await db.query(`alter database ${JSON.stringify(db.name)} reset statement_timeout`);
      await holder.close();
    }
  });

  it("a connection killed while reading history is a ConnectionLostError that says nothing changed", async () => {
    const config = await project("schema: lost_s\n", { "001_a.up.sql": "create table a (id int);" });
    // A history table whose read blocks until this session lets go: the run is caught mid-read.
    await db.query("create schema lost_s");
    await db.query(
      "create table lost_s.confiture_migrations (version text primary key, name text, checksum text, applied_at timestamptz not null default now(), execution_ms int, applied_by text, status text not null default 'applied', error text)",
    );
    const blocker = await openSession({
      connectionString: db.url,
      applicationName: "confiture: test blocker",
    });
    try {
      await blocker.exec("begin; lock table lost_s.confiture_migrations in access exclusive mode");
      const run = migrateUp(config).catch((e: unknown) => e);
      let pid: number | undefined;
      for (let i = 0; i < 50 && pid === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const rows = await db.query<{ pid: number }>(
          "select pid from pg_stat_activity where application_name = 'confiture: migrate up' and wait_event_type = 'Lock'",
        );
        pid = rows.rows[0]?.pid;
      }
      expect(pid).toBeDefined();
      await db.query("select pg_terminate_backend($1)", [pid]);
      const err = (await run) as ConfitureError;
      expect(err).toBeInstanceOf(ConnectionLostError);
      expect(err.category).toBe("connection");
      expect(err.message).toContain("was lost while reading history");
      expect(err.message).toContain("no change had been made");
    } finally {
      await blocker.exec("rollback").catch(() => {});
      await blocker.close();
    }
    const tables = await db.query(
      "select count(*)::int as n from pg_tables where schemaname = 'lost_s' and tablename = 'a'",
    );
    expect(tables.rows[0]?.n).toBe(0);
  });
});
