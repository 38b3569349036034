/**
 * Runbook Scenario 1, "Failed Migration (Partial Apply)", end to end with the built CLI:
 * - transactional (the default): the failed migration leaves no trace, the error names file, line,
 *   SQLSTATE and the next step, and "fix the file, then confiture migrate up" works;
 * - non-transactional: the half-done migration is recorded as `failed`, `up` refuses until it is
 *   settled, and both ways out work: `migrate resolve ID --rolled-back`, and the runbook's manual
 *   `DELETE FROM confiture_migrations WHERE version = '...'`.
 * Plus the `-- confiture:no-transaction` directive itself: CREATE INDEX CONCURRENTLY with and
 * without it, --dry-run, and statement splitting of dollar-quoted and BEGIN ATOMIC bodies.
 */
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, withClient } from "../support/database.js";
import { type BoundCli, cliFor, expectJson } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("scenario failed migration");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

async function setup(
  schema: string,
  migrations: Record<string, string>,
): Promise<{ p: TestProject; cli: BoundCli }> {
  const p = await makeProject({ config: `schema: ${schema}\n`, migrations });
  projects.push(p);
  return { p, cli: cliFor(p.dir, { DATABASE_URL: db.url }) };
}

interface Row {
  version: string;
  status: string;
  error: string | null;
}

async function history(schema: string): Promise<Row[]> {
  const r = await db.query<Row>(
    `select version, status, error from ${schema}.confiture_migrations order by version`,
  );
  return r.rows;
}

async function exists(qualified: string): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

describe("Scenario 1, transactional migration (default)", () => {
  it("002 fails at line 3 after 001 succeeded: exit 1, message names file/line/SQLSTATE, 002 leaves no trace; fix + up applies it", async () => {
    const s = "sc1_tx";
    const broken = [
      "-- 002: orders, written against the wrong table name",
      `create table ${s}.orders (id int primary key, user_id int);`,
      `insert into ${s}.accounts_typo (id) values (1);`,
      "",
    ].join("\n");
    const { p, cli } = await setup(s, {
      "001_create_users.up.sql": `create table ${s}.users (id int primary key);\n`,
      "002_create_orders.up.sql": broken,
    });

    const r = await cli(["migrate", "up"]);
    expect(r.code).toBe(1);
    // 001 was committed before 002 failed: its line stays on stdout (no summary: the run failed).
    expect(r.stdout).toMatch(/^applied 001_create_users \(\d+ ms\)\n$/);
    expect(r.stderr).toContain(
      `error: migration 002_create_orders failed at line 3 (${p.path("db/migrations/002_create_orders.up.sql")})`,
    );
    expect(r.stderr).toContain(`relation "${s}.accounts_typo" does not exist (42P01)`);
    expect(r.stderr).toContain(
      'Nothing from this migration was applied; fix the file and run "confiture migrate up" again.',
    );
    expect(r.stderr).toContain("Applied earlier in this run and kept: 001_create_users.");

    // 001 stays; 002's first statement was rolled back with it and it has no history row.
    expect(await history(s)).toEqual([{ version: "001_create_users", status: "applied", error: null }]);
    expect(await exists(`${s}.users`)).toBe(true);
    expect(await exists(`${s}.orders`)).toBe(false);
    const ev = await db.query<{
      outcome: string;
      host: string;
      details: { applied: string[]; error: string };
    }>(`select outcome, host, details from ${s}.confiture_events where command = 'migrate up'`);
    expect(ev.rows).toHaveLength(1);
    expect(ev.rows[0]).toMatchObject({
      outcome: "failed",
      host: hostname(),
      details: { applied: ["001_create_users"] },
    });
    expect(ev.rows[0]?.details.error).toContain("42P01");

    // Runbook: "Verify status" — nothing failed, 002 simply pending.
    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/001_create_users\s+applied/);
    expect(status.stdout).toMatch(/002_create_orders\s+pending/);

    // "Fix migration file, then retry".
    await p.write(
      "db/migrations/002_create_orders.up.sql",
      broken.replace("accounts_typo (id)", "users (id)"),
    );
    const retry = await cli(["migrate", "up"]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/^applied 002_create_orders \(\d+ ms\)$/m);
    expect(await history(s)).toEqual([
      { version: "001_create_users", status: "applied", error: null },
      { version: "002_create_orders", status: "applied", error: null },
    ]);
    expect(await exists(`${s}.orders`)).toBe(true);
  });
});

describe("Scenario 1, non-transactional migration", () => {
  /** Statement 2 of 3 fails; statement 1 took effect outside any transaction. */
  const failing = (s: string) =>
    [
      "-- confiture:no-transaction",
      `create table ${s}.audit (id int, note text);`,
      `insert into ${s}.audit_typo values (1);`,
      `create index concurrently idx_audit_id on ${s}.audit (id);`,
      "",
    ].join("\n");
  const fixed = (s: string) => failing(s).replace("audit_typo values (1)", "audit values (1, 'first')");

  /** Apply the failing migration and check the recorded state every recovery path starts from. */
  async function failHalfway(s: string): Promise<{ p: TestProject; cli: BoundCli }> {
    const env = await setup(s, {
      "001_base.up.sql": `create table ${s}.base (id int);\n`,
      "002_audit.up.sql": failing(s),
    });
    const r = await env.cli(["migrate", "up"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^applied 001_base \(\d+ ms\)\n$/);
    expect(r.stderr).toContain(
      `migration 002_audit failed at line 3 (${env.p.path("db/migrations/002_audit.up.sql")})`,
    );
    expect(r.stderr).toContain("(42P01)");
    expect(r.stderr).toContain(
      "It ran outside a transaction: 1 of 3 statements took effect and it is recorded as failed.",
    );
    expect(r.stderr).toContain('run "confiture migrate resolve 002_audit --rolled-back"');

    const rows = await history(s);
    expect(rows.map(({ version, status }) => ({ version, status }))).toEqual([
      { version: "001_base", status: "applied" },
      { version: "002_audit", status: "failed" },
    ]);
    const error = rows[1]?.error ?? "";
    expect(error).toContain("statement 2 of 3 failed at line 3");
    expect(error).toContain(`relation "${s}.audit_typo" does not exist (42P01)`);
    expect(error).toContain("1 of 3 statements completed");
    // The first statement's effect is there; the third never ran.
    expect(await exists(`${s}.audit`)).toBe(true);
    expect(await exists(`${s}.idx_audit_id`)).toBe(false);

    // Nothing else runs until a person settles it.
    await env.p.write("db/migrations/003_later.up.sql", `create table ${s}.later (id int);\n`);
    const blocked = await env.cli(["migrate", "up"]);
    expect(blocked.code).toBe(3);
    expect(blocked.stdout).toBe("");
    expect(blocked.stderr).toContain("migration 002_audit is recorded as failed");
    expect(blocked.stderr).toContain('"confiture migrate resolve 002_audit --rolled-back"');
    expect(await exists(`${s}.later`)).toBe(false);
    const status = await env.cli(["migrate", "status"]);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/002_audit\s+failed/);
    return env;
  }

  async function expectRecovered(s: string, cli: BoundCli): Promise<void> {
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^applied 002_audit \(\d+ ms\)$/m);
    expect(up.stdout).toMatch(/^applied 003_later \(\d+ ms\)$/m);
    expect(await history(s)).toEqual([
      { version: "001_base", status: "applied", error: null },
      { version: "002_audit", status: "applied", error: null },
      { version: "003_later", status: "applied", error: null },
    ]);
    expect((await db.query(`select id, note from ${s}.audit`)).rows).toEqual([{ id: 1, note: "first" }]);
    const idx = await db.query<{ indisvalid: boolean }>(
      "select indisvalid from pg_index where indexrelid = $1::regclass",
      [`${s}.idx_audit_id`],
    );
    expect(idx.rows).toEqual([{ indisvalid: true }]);
    expect((await cli(["migrate", "status"])).code).toBe(0);
  }

  it("path 1: manual cleanup, `migrate resolve ID --rolled-back`, fix the file, `migrate up`", async () => {
    const s = "sc1_ntx_resolve";
    const { p, cli } = await failHalfway(s);

    await db.query(`drop table ${s}.audit`);
    const resolved = await cli(["migrate", "resolve", "002_audit", "--rolled-back"]);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).toBe(
      '002_audit removed from history; fix the file and run "confiture migrate up".\n',
    );
    expect((await history(s)).map((r) => r.version)).toEqual(["001_base"]);
    const ev = await db.query<{
      outcome: string;
      host: string;
      details: { migration: string; previousError: string };
    }>(
      `select outcome, host, details from ${s}.confiture_events where command = 'migrate resolve --rolled-back'`,
    );
    expect(ev.rows).toMatchObject([
      { outcome: "success", host: hostname(), details: { migration: "002_audit" } },
    ]);
    expect(ev.rows[0]?.details.previousError).toContain("statement 2 of 3 failed");

    await p.write("db/migrations/002_audit.up.sql", fixed(s));
    await expectRecovered(s, cli);
  });

  it("path 2: the runbook's manual SQL (cleanup + DELETE FROM confiture_migrations), fix the file, `migrate up`", async () => {
    const s = "sc1_ntx_manual";
    const { p, cli } = await failHalfway(s);

    // The runbook's psql heredoc, with the cleanup this migration needs. The session's search_path
    // is the managed schema, as it is for a user whose tables live there.
    await withClient(db.url, (c) =>
      c.query(
        [
          `SET search_path TO ${s}`,
          "-- Remove partially created objects",
          "DROP INDEX IF EXISTS idx_audit_id",
          "DROP TABLE IF EXISTS audit",
          "-- Remove from migration history",
          "DELETE FROM confiture_migrations WHERE version = '002_audit'",
        ].join(";\n"),
      ),
    );
    expect((await history(s)).map((r) => r.version)).toEqual(["001_base"]);

    await p.write("db/migrations/002_audit.up.sql", fixed(s));
    await expectRecovered(s, cli);
  });
});

describe("the -- confiture:no-transaction directive", () => {
  it("CREATE INDEX CONCURRENTLY with the directive applies and leaves a valid index", async () => {
    const s = "ntx_cic";
    const { cli } = await setup(s, {
      "001_users.up.sql": `create table ${s}.users (id int, email text);\ninsert into ${s}.users values (1, 'a@example.com');\n`,
      "002_users_email_idx.up.sql": `-- confiture:no-transaction\ncreate index concurrently users_email_idx on ${s}.users (email);\n`,
    });
    const r = await cli(["migrate", "up"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("2 migration(s) applied (0 were already applied).");
    const idx = await db.query<{ indisvalid: boolean; indisready: boolean }>(
      "select indisvalid, indisready from pg_index where indexrelid = $1::regclass",
      [`${s}.users_email_idx`],
    );
    expect(idx.rows).toEqual([{ indisvalid: true, indisready: true }]);
    expect(await history(s)).toEqual([
      { version: "001_users", status: "applied", error: null },
      { version: "002_users_email_idx", status: "applied", error: null },
    ]);
  });

  it("without the directive it is refused before anything runs (exit 2, names the directive), even earlier pending migrations", async () => {
    const s = "ntx_refused";
    const { p, cli } = await setup(s, {
      "001_users.up.sql": `create table ${s}.users (id int, email text);\n`,
      "002_users_email_idx.up.sql": `create index concurrently users_email_idx on ${s}.users (email);\n`,
    });
    const r = await cli(["migrate", "up"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `error: ${p.path("db/migrations/002_users_email_idx.up.sql")}:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction`,
    );
    expect(r.stderr).toContain('add "-- confiture:no-transaction" as the first line of the file');
    expect(r.stderr).toContain("Nothing was applied.");
    expect(await exists(`${s}.users`)).toBe(false);
    expect(await exists(`${s}.confiture_migrations`)).toBe(false);

    const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("MIGRATION_NEEDS_NO_TRANSACTION");
    expect(await exists(`${s}.users`)).toBe(false);
  });

  it("--dry-run is refused when a no-transaction migration is pending, and changes nothing", async () => {
    const s = "ntx_dry";
    const { cli } = await setup(s, {
      "001_users.up.sql": `create table ${s}.users (id int, email text);\n`,
      "002_users_email_idx.up.sql": `-- confiture:no-transaction\ncreate index concurrently users_email_idx on ${s}.users (email);\n`,
    });
    const r = await cli(["migrate", "up", "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      "--dry-run cannot run 002_users_email_idx: it is a no-transaction migration, and its statements cannot be rolled back.",
    );
    expect(await exists(`${s}.users`)).toBe(false);
    expect(await exists(`${s}.confiture_migrations`)).toBe(false);

    // What the message suggests: dry-run the migrations before it.
    const before = await cli(["migrate", "up", "--dry-run", "--target", "001_users"]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/^would apply 001_users/m);
    expect(await exists(`${s}.users`)).toBe(false);
  });

  it("splits dollar-quoted bodies with semicolons and BEGIN ATOMIC functions into whole statements", async () => {
    const s = "ntx_split";
    const sql = [
      "-- confiture:no-transaction",
      `create table ${s}.events (id int, body text);`,
      `create function ${s}.log_event(n int) returns int language plpgsql as $body$`,
      "begin",
      `  insert into ${s}.events values (n, 'a;b'); -- a semicolon in a string, in a body`,
      `  insert into ${s}.events values (n + 1, $$c;d$$);`,
      "  return n;",
      "end;",
      "$body$;",
      `create function ${s}.plus_two(a int) returns int language sql`,
      "begin atomic",
      "  select a + 1;",
      "  select a + 2;",
      "end;",
      `create index concurrently events_id_idx on ${s}.events (id);`,
      "",
    ].join("\n");
    const { cli } = await setup(s, { "001_functions.up.sql": sql });
    const r = await cli(["migrate", "up"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied 001_functions \(\d+ ms\)$/m);
    expect(await history(s)).toEqual([{ version: "001_functions", status: "applied", error: null }]);

    // The bodies arrived whole: both functions behave as written.
    const calls = await db.query<{ logged: number; plus: number }>(
      `select ${s}.log_event(7) as logged, ${s}.plus_two(1) as plus`,
    );
    expect(calls.rows).toEqual([{ logged: 7, plus: 3 }]);
    expect((await db.query(`select id, body from ${s}.events order by id`)).rows).toEqual([
      { id: 7, body: "a;b" },
      { id: 8, body: "c;d" },
    ]);
    const idx = await db.query<{ indisvalid: boolean }>(
      "select indisvalid from pg_index where indexrelid = $1::regclass",
      [`${s}.events_id_idx`],
    );
    expect(idx.rows).toEqual([{ indisvalid: true }]);
  });
});
