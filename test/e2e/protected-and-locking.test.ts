// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is confiture.yaml syntax.
/**
 * Guard rails around destructive and concurrent operations, with the built CLI:
 * - a protected environment refuses `migrate down` without --force when nobody is at a terminal,
 *   and the runbook's "Emergency rollback" (`confiture migrate down --steps 1 --force`) works;
 * - a held migration lock: a second run exits 4 naming the holder, `unlock` refuses a busy
 *   holder, the runbook's `SELECT pg_advisory_unlock_all()` from another session frees nothing,
 *   and `unlock --force` ends the holder's session, whose migration leaves no trace;
 * - statement_lock_timeout: DDL waiting behind a table lock times out and is retried with backoff,
 *   succeeding once the lock is released, failing with 55P03 (and recording nothing) if never.
 */
import { hostname } from "node:os";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createTestDatabase, SENTINEL_PASSWORD, TEST_ROLE, type TestDatabase } from "../support/database.js";
import { type BoundCli, cliFor, eventually, expectJson, type JsonDoc, watchCli } from "../support/e2e.js";
import { migrationLockSessions, waitUntilConfitureIdle } from "../support/migration-lock.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("protected and locking");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

async function setup(
  config: string,
  migrations: Record<string, string>,
  env: Record<string, string>,
): Promise<{ p: TestProject; cli: BoundCli }> {
  const p = await makeProject({ config, migrations });
  projects.push(p);
  return { p, cli: cliFor(p.dir, env) };
}

async function history(schema: string): Promise<Array<{ version: string; status: string }>> {
  const r = await db.query<{ version: string; status: string }>(
    `select version, status from ${schema}.confiture_migrations order by version`,
  );
  return r.rows;
}

async function exists(qualified: string): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

/** A client holding a transaction open, for taking table locks the CLI must wait behind. */
async function openClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url, application_name: "test: lock holder" });
  c.on("error", () => {});
  await c.connect();
  return c;
}

describe("protected environment", () => {
  const s = "prot";
  const config = [
    `schema: ${s}`,
    "environments:",
    "  production:",
    "    database_url: ${PROD_DATABASE_URL}",
    "    protected: true",
    "",
  ].join("\n");
  const files = {
    "001_a.up.sql": `create table ${s}.t1 (id int);\n`,
    "001_a.down.sql": `drop table ${s}.t1;\n`,
    "002_b.up.sql": `create table ${s}.t2 (id int);\n`,
    "002_b.down.sql": `drop table ${s}.t2;\n`,
  };

  it("migrate down without --force and without a TTY is refused (exit 2); --force rolls back (the runbook's emergency rollback)", async () => {
    // No DATABASE_URL: the URL can only come from the selected environment.
    const { p, cli } = await setup(config, files, { PROD_DATABASE_URL: db.url });
    const up = await cli(["migrate", "up", "--env", "production"]);
    expect(up.code, up.stderr).toBe(0);
    expect(await history(s)).toHaveLength(2);

    const byFlag = await cli(["migrate", "down", "--steps", "1", "--env", "production"]);
    expect(byFlag.code).toBe(2);
    expect(byFlag.stdout).toBe("");
    // It names the database it refused to change (without its password), once as the target line.
    expect(byFlag.target).toMatch(/^target: \S+@127\.0\.0\.1:\d+\/\S+ \(environment production\)$/);
    expect(byFlag.stderr).toMatch(
      /^error: environment "production" \(postgres:\/\/[^)]*\) is protected: rolling back needs --force \(or run it in a terminal to confirm interactively\)\. Nothing was changed\.\n$/,
    );
    expect(byFlag.stderr).not.toContain(SENTINEL_PASSWORD);

    // Typing the name into a pipe is not a confirmation: only a terminal is.
    const piped = await runCli(["migrate", "down", "--steps", "1"], {
      cwd: p.dir,
      env: { PROD_DATABASE_URL: db.url, CONFITURE_ENV: "production" },
      input: "production\n",
    });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("needs --force");
    expect(piped.stdout + piped.stderr).not.toContain(SENTINEL_PASSWORD);

    const json = expectJson(
      await cli(["migrate", "down", "--steps", "1", "--format", "json"], { CONFITURE_ENV: "production" }),
      2,
      false,
    );
    expect(json.error?.code).toBe("PROTECTED_ENVIRONMENT");
    expect(json.error?.message).toContain("--force");

    // A dry run changes nothing, so it needs no --force even here.
    const dry = await cli(["migrate", "down", "--steps", "1", "--dry-run"], { CONFITURE_ENV: "production" });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("would roll back 002_b");

    // Nothing was rolled back by any of the refused runs, nor by the dry run.
    expect(await history(s)).toEqual([
      { version: "001_a", status: "applied" },
      { version: "002_b", status: "applied" },
    ]);
    expect(await exists(`${s}.t2`)).toBe(true);

    // Runbook, Critical Commands: `confiture migrate down --steps 1 --force`, environment from CONFITURE_ENV.
    const forced = await cli(["migrate", "down", "--steps", "1", "--force"], { CONFITURE_ENV: "production" });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe("");
    expect(forced.stdout).toMatch(/^rolled back 002_b \(\d+ ms\)\n1 migration\(s\) rolled back\.\n$/);
    expect(await history(s)).toEqual([{ version: "001_a", status: "applied" }]);
    expect(await exists(`${s}.t2`)).toBe(false);
    const ev = await db.query(
      `select environment, outcome, host, details from ${s}.confiture_events where command = 'migrate down'`,
    );
    expect(ev.rows).toEqual([
      {
        environment: "production",
        outcome: "success",
        host: hostname(),
        details: { rolledBack: ["002_b"], forced: true },
      },
    ]);
  });
});

describe("held migration lock", () => {
  it("a second run exits 4 naming the holder; unlock refuses a busy holder; pg_advisory_unlock_all() frees nothing; unlock --force does", async () => {
    const s = "lock_held";
    // The sleep is far longer than the test needs: the run is ended by `unlock --force`.
    const { p, cli } = await setup(
      `schema: ${s}\n`,
      { "001_slow.up.sql": `create table ${s}.slept (id int);\nselect pg_sleep(30);\n` },
      { DATABASE_URL: db.url },
    );
    const first = watchCli(["migrate", "up"], { cwd: p.dir, env: { DATABASE_URL: db.url } });
    try {
      const holding = await eventually(async () => {
        const r = await cli(["lock", "status", "--format", "json"]);
        const doc = expectJson(r, 0, true) as JsonDoc & {
          held: boolean;
          holder: { pid: number; query: string | null };
        };
        return doc.held && doc.holder.query?.includes("pg_sleep") ? doc : undefined;
      }, "the first migrate up to hold the lock and sleep");
      const pid = holding.holder.pid;
      // The whole migration is one message, so the holder's query is the migration's text and
      // the application name says which migration is running.
      expect(holding.holder).toMatchObject({
        application: "confiture: migrate up 001_slow",
        user: TEST_ROLE,
        state: "active",
      });

      const second = await cli(["migrate", "up"], { CONFITURE_LOCK_TIMEOUT: "1s" });
      expect(second.code).toBe(4);
      expect(second.stdout).toBe("");
      expect(second.stderr).toContain(
        `error: the migration lock (${s}.confiture_migrations) is held by another session and was not released within 1s: pid ${pid}, user ${TEST_ROLE}`,
      );
      expect(second.stderr).toContain('application "confiture: migrate up 001_slow"');
      expect(second.stderr).toContain(`query: create table ${s}.slept (id int); select pg_sleep(30);`);

      const polite = await cli(["unlock"]);
      expect(polite.code).toBe(4);
      expect(polite.stdout).toBe("");
      expect(polite.stderr).toContain(`the lock holder is not idle (pid ${pid},`);
      expect(polite.stderr).toContain('run "confiture unlock --force"');

      // The runbook's "Force unlock", from another session: it only releases that session's own locks.
      await db.query("SELECT pg_advisory_unlock_all()");
      const still = expectJson(await cli(["lock", "status", "--format", "json"]), 0, true);
      expect(still).toMatchObject({ held: true, holder: { pid } });
      expect(await migrationLockSessions(db)).toEqual([{ pid, granted: true }]);

      const forced = await cli(["unlock", "--force"]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toBe(`Terminated pid ${pid}; the migration lock is free.\n`);

      // The lost connection is reported as such (exit 5), and its outcome is read from history
      // on a new connection instead of being assumed.
      const r = await first.done;
      expect(r.code, r.stderr).toBe(5);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("was lost while running 001_slow");
      expect(r.stderr).toContain("terminating connection due to administrator command (57P01)");
      expect(r.stderr).toContain("history shows it was not applied");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
    } finally {
      first.child.kill("SIGKILL");
    }

    // Nothing of the terminated migration is recorded, and the lock is free.
    expect(await history(s)).toEqual([]);
    expect(await exists(`${s}.slept`)).toBe(false);
    expect(await waitUntilConfitureIdle(db)).toBe(true);
    expect((await cli(["lock", "status"])).stdout).toBe(
      `The migration lock (${s}.confiture_migrations) is free.\n`,
    );
    const ev = await db.query<{ command: string; outcome: string; details: { terminated: { pid: number } } }>(
      `select command, outcome, details from ${s}.confiture_events order by id`,
    );
    // Two records, in either order: the unlock, and the terminated run's failure (written by
    // that run on a new connection once it knew the outcome).
    expect(ev.rows).toHaveLength(2);
    const unlocked = ev.rows.find((e) => e.command === "unlock --force");
    expect(unlocked).toMatchObject({
      outcome: "success",
      details: {
        terminated: {
          application: "confiture: migrate up 001_slow",
          query: expect.stringContaining("select pg_sleep(30)"),
        },
      },
    });
    expect(unlocked?.details.terminated.pid).toBeGreaterThan(0);
    expect(ev.rows.find((e) => e.command === "migrate up")).toMatchObject({ outcome: "failed" });

    // And the migration can simply be run again (without the sleep).
    await p.write("db/migrations/001_slow.up.sql", `create table ${s}.slept (id int);\n`);
    const again = await cli(["migrate", "up"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await history(s)).toEqual([{ version: "001_slow", status: "applied" }]);
  });
});

describe("statement_lock_timeout", () => {
  const s = "lock_stmt";

  it("DDL behind a table lock times out, is retried with backoff, and succeeds once the lock is released", async () => {
    const { p, cli } = await setup(
      `schema: ${s}\n`,
      { "001_users.up.sql": `create table ${s}.users (id int);\n` },
      { DATABASE_URL: db.url },
    );
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write("db/migrations/002_add_email.up.sql", `alter table ${s}.users add column email text;\n`);

    const holder = await openClient();
    try {
      await holder.query(`begin; lock table ${s}.users in access share mode`);
      const up = watchCli(["migrate", "up"], {
        cwd: p.dir,
        env: { DATABASE_URL: db.url, CONFITURE_STATEMENT_LOCK_TIMEOUT: "200ms" },
      });
      try {
        await up.until((err) => err.includes("(attempt 1)"));
        await holder.query("commit");
        const r = await up.done;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(
          "warning: 002_add_email: lock_timeout reached (attempt 1); retrying in 500 ms\n",
        );
        expect(r.stderr).not.toContain("error:");
        expect(r.stdout).toMatch(/^applied 002_add_email \(\d+ ms\)$/m);
      } finally {
        up.child.kill("SIGKILL");
      }
    } finally {
      await holder.end();
    }
    expect(await history(s)).toEqual([
      { version: "001_users", status: "applied" },
      { version: "002_add_email", status: "applied" },
    ]);
    const col = await db.query(
      "select 1 from information_schema.columns where table_schema = $1 and table_name = 'users' and column_name = 'email'",
      [s],
    );
    expect(col.rowCount).toBe(1);
  });

  it("a lock held through every attempt fails with 55P03 after 5 attempts and records nothing", async () => {
    const s2 = `${s}_never`;
    const { p, cli } = await setup(
      `schema: ${s2}\n`,
      { "001_users.up.sql": `create table ${s2}.users (id int);\n` },
      { DATABASE_URL: db.url },
    );
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write("db/migrations/002_add_phone.up.sql", `alter table ${s2}.users add column phone text;\n`);

    const holder = await openClient();
    let r: Awaited<ReturnType<BoundCli>>;
    try {
      await holder.query(`begin; lock table ${s2}.users in access share mode`);
      r = await cli(["migrate", "up"], { CONFITURE_STATEMENT_LOCK_TIMEOUT: "200ms" });
    } finally {
      await holder.query("rollback").catch(() => {});
      await holder.end();
    }
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      "warning: 002_add_phone: lock_timeout reached (attempt 1); retrying in 500 ms",
      "warning: 002_add_phone: lock_timeout reached (attempt 2); retrying in 1000 ms",
      "warning: 002_add_phone: lock_timeout reached (attempt 3); retrying in 2000 ms",
      "warning: 002_add_phone: lock_timeout reached (attempt 4); retrying in 4000 ms",
    ]);
    expect(r.stderr).toContain(
      `error: migration 002_add_phone failed at line 1 (${p.path("db/migrations/002_add_phone.up.sql")}): canceling statement due to lock timeout (55P03).`,
    );
    expect(r.stderr).toContain("Nothing from this migration was applied");
    expect(await history(s2)).toEqual([{ version: "001_users", status: "applied" }]);
    const col = await db.query(
      "select 1 from information_schema.columns where table_schema = $1 and table_name = 'users' and column_name = 'phone'",
      [s2],
    );
    expect(col.rowCount).toBe(0);
    const ev = await db.query<{ outcome: string; details: { error: string } }>(
      `select outcome, details from ${s2}.confiture_events where command = 'migrate up' order by id`,
    );
    expect(ev.rows.map((e) => e.outcome)).toEqual(["success", "failed"]);
    expect(ev.rows[1]?.details.error).toContain("55P03");
  });
});
