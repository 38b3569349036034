/**
 * The migration history as an operator meets it during an incident: checksums that catch a changed
 * file but not a Git line-ending conversion, `init --force` that never drops history, the runbook's
 * Scenario 4 manual reconstruction (a hand-written INSERT with a placeholder checksum, then the
 * real one from `migrate checksum`), rows whose file is gone, and baseline rows.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_ROLE, type TestDatabase } from "../support/database.js";
import { type BoundCli, cliFor, expectedChecksum, expectJson } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("history");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

/** A project on the test database; `schema` null means the default (public), as in the runbook. */
async function setup(
  schema: string | null,
  migrations: Record<string, string>,
): Promise<{ p: TestProject; cli: BoundCli }> {
  const p = await makeProject({ config: schema ? `schema: ${schema}\n` : "lock_timeout: 30s\n", migrations });
  projects.push(p);
  return { p, cli: cliFor(p.dir, { DATABASE_URL: db.url }) };
}

async function versions(qualifiedTable: string): Promise<string[]> {
  const r = await db.query<{ version: string }>(`select version from ${qualifiedTable} order by version`);
  return r.rows.map((row) => row.version);
}

async function exists(qualified: string): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

const three = (s: string) => ({
  "001_a.up.sql": `create table ${s}.a (id int);\n`,
  "002_b.up.sql": `create table ${s}.b (id int);\n`,
  "003_c.up.sql": `create table ${s}.c (id int);\n`,
});

describe("checksums", () => {
  it("converting an applied file to CRLF and adding a UTF-8 BOM is not a change", async () => {
    const s = "hist_crlf";
    const { p, cli } = await setup(s, {
      "001_a.up.sql": `-- users\ncreate table ${s}.a (id int);\ninsert into ${s}.a values (1);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);

    const file = p.path("db/migrations/001_a.up.sql");
    const lf = await readFile(file, "utf8");
    await writeFile(file, `\uFEFF${lf.replace(/\n/g, "\r\n")}`);
    expect((await readFile(file)).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));

    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/^001_a\s+applied/m);
    expect(status.stdout).not.toContain("mismatch");
    const verify = await cli(["migrate", "verify-checksums"]);
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toBe("All 2 applied migration checksums match their files.\n");

    await p.write("db/migrations/003_c.up.sql", `create table ${s}.c (id int);\n`);
    const up = await cli(["migrate", "up", "--verify-checksums"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^applied 003_c/m);
    expect(await versions(`${s}.confiture_migrations`)).toEqual(["001_a", "002_b", "003_c"]);
  });

  it("an edited applied file is a checksum mismatch: status exit 3, verify-checksums exit 3, up --verify-checksums applies nothing", async () => {
    const s = "hist_tamper";
    const files = three(s);
    const { p, cli } = await setup(s, {
      "001_a.up.sql": files["001_a.up.sql"],
      "002_b.up.sql": files["002_b.up.sql"],
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);

    const edited = `create table ${s}.b (id int, extra text);\n`;
    await p.write("db/migrations/002_b.up.sql", edited);
    await p.write("db/migrations/003_c.up.sql", files["003_c.up.sql"]);
    const recorded = expectedChecksum(files["002_b.up.sql"]);
    const actual = expectedChecksum(edited);

    const status = await cli(["migrate", "status"]);
    expect(status.code).toBe(3);
    expect(status.stderr).toBe("");
    expect(status.stdout).toMatch(/^001_a\s+applied/m);
    expect(status.stdout).toMatch(/^002_b\s+checksum mismatch/m);
    expect(status.stdout).toMatch(/^003_c\s+pending/m);
    const verbose = await cli(["migrate", "status", "--verbose"]);
    expect(verbose.code).toBe(3);
    expect(verbose.stdout).toContain(`file ${actual.slice(0, 12)} recorded ${recorded.slice(0, 12)}`);

    const verify = await cli(["migrate", "verify-checksums"]);
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(new RegExp(`mismatch\\s+002_b: recorded ${recorded}, file ${actual}`));

    const up = await cli(["migrate", "up", "--verify-checksums"]);
    expect(up.code).toBe(3);
    expect(up.stdout).toBe("");
    expect(up.stderr).toContain(
      "error: refusing to migrate: 1 applied migration(s) changed since they were applied (002_b)",
    );
    expect(up.stderr).toContain("Nothing was applied.");
    expect(await versions(`${s}.confiture_migrations`)).toEqual(["001_a", "002_b"]);
    expect(await exists(`${s}.c`)).toBe(false);
    const json = expectJson(await cli(["migrate", "up", "--verify-checksums", "--format", "json"]), 3, false);
    expect(json.error?.code).toBe("CHECKSUM_MISMATCH");
    expect(await exists(`${s}.c`)).toBe(false);
  });
});

describe("init --force", () => {
  it("keeps the old history as confiture_migrations_backup; when that name exists, a timestamped name", async () => {
    const s = "hist_force";
    const { cli } = await setup(s, three(s));
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const before = await db.query(`select * from ${s}.confiture_migrations order by version`);
    expect(before.rows).toHaveLength(3);

    const r = await cli(["init", "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    // (init also scaffolds the missing db/schema/ of this test project.)
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(
      "recreated the tracking table; the previous history is kept in confiture_migrations_backup",
    );
    // Every row and every column survived, and the new table is empty but complete.
    expect((await db.query(`select * from ${s}.confiture_migrations_backup order by version`)).rows).toEqual(
      before.rows,
    );
    expect(await versions(`${s}.confiture_migrations`)).toEqual([]);
    const cols = await db.query<{ t: string; n: number }>(
      `select table_name as t, count(*)::int as n from information_schema.columns
        where table_schema = $1 and table_name in ('confiture_migrations', 'confiture_migrations_backup')
        group by table_name order by table_name`,
      [s],
    );
    expect(cols.rows).toEqual([
      { t: "confiture_migrations", n: 8 },
      { t: "confiture_migrations_backup", n: 8 },
    ]);
    // The schema still holds what the migrations created: lost history, not a new database
    // (exit 3). The backup of the history is Confiture's own table, not one of the user's.
    const status = await cli(["migrate", "status", "--format", "json"]);
    const lost = expectJson(status, 3, false);
    expect(lost.counts).toMatchObject({ pending: 3, applied: 0 });
    expect(lost.error?.code).toBe("HISTORY_LOST");
    expect(lost.untrackedObjects).toEqual({
      count: 3,
      sample: ["a", "b", "c"].map((name) => ({ kind: "table", name })),
    });

    const again = await cli(["init", "--force", "--format", "json"]);
    const doc = expectJson(again, 0, true);
    expect(doc).toMatchObject({ trackingTable: "recreated" });
    expect(doc.backupTable).toMatch(/^confiture_migrations_backup_\d{14}(_\d+)?$/);
    expect(await versions(`${s}.confiture_migrations_backup`)).toEqual(["001_a", "002_b", "003_c"]);
    expect(await exists(`${s}.${doc.backupTable}`)).toBe(true);

    const ev = await db.query<{ outcome: string; details: { backupTable: string; rowsKept: number } }>(
      `select outcome, details from ${s}.confiture_events where command = 'init --force' order by id`,
    );
    expect(ev.rows).toEqual([
      {
        outcome: "success",
        details: expect.objectContaining({ backupTable: "confiture_migrations_backup", rowsKept: 3 }),
      },
      { outcome: "success", details: expect.objectContaining({ backupTable: doc.backupTable, rowsKept: 0 }) },
    ]);
  });
});

describe("runbook Scenario 4: lost migration history, manual reconstruction", () => {
  it("backup by hand, init --force, INSERT with a placeholder checksum, then the real one from `migrate checksum`", async () => {
    // The runbook's SQL is unqualified, so this project uses the default schema, public.
    const users = "create table users (id int primary key);\n";
    const email = "alter table users add column email text;\n";
    const { cli } = await setup(null, { "001_create_users.up.sql": users, "002_add_email.up.sql": email });
    expect((await cli(["migrate", "up", "--target", "001_create_users"])).code).toBe(0);

    // Step 1: Backup current state.
    await db.query("CREATE TABLE confiture_migrations_backup AS\nSELECT * FROM confiture_migrations;");
    // Step 2: Reinitialize. The name is taken, so the old table goes to a timestamped one.
    const init = await cli(["init", "--force"]);
    expect(init.code, init.stderr).toBe(0);
    const m = /kept in (confiture_migrations_backup_\d{14}(?:_\d+)?)\n$/.exec(init.stdout);
    expect(m, init.stdout).not.toBeNull();
    expect(await versions("public.confiture_migrations_backup")).toEqual(["001_create_users"]);
    expect(await versions(`public.${m![1]}`)).toEqual(["001_create_users"]);
    // Lost history is not mistaken for a new database (exit 3): the message names what the
    // schema holds (users; neither history backup counts) and the ways forward.
    const lost = await cli(["migrate", "status"]);
    expect(lost.code, lost.stdout).toBe(3);
    expect(lost.stdout).toMatch(/^001_create_users\s+pending/m);
    expect(lost.stdout).toContain(
      "The history (public.confiture_migrations) is empty but schema public already holds 1 object(s): table users: this looks like lost history, not a new database.",
    );
    expect(lost.stdout).toContain('"confiture migrate baseline --through ID"');

    // "If sync-history is not available": manual reconstruction, exactly as written.
    const check = await db.query<{ exists: boolean }>(
      "SELECT EXISTS (SELECT FROM pg_tables WHERE tablename = 'users');",
    );
    expect(check.rows).toEqual([{ exists: true }]);
    await db.query(
      "INSERT INTO confiture_migrations (version, applied_at, checksum)\nVALUES ('001_create_users', NOW(), 'computed_checksum');",
    );
    const placeholder = await cli(["migrate", "status"]);
    expect(placeholder.code).toBe(3);
    expect(placeholder.stdout).toMatch(/^001_create_users\s+checksum mismatch/m);
    expect(placeholder.stdout).toMatch(/^002_add_email\s+pending/m);

    const sum = await cli(["migrate", "checksum", "001_create_users"]);
    expect(sum.code, sum.stderr).toBe(0);
    expect(sum.stdout).toBe(`${expectedChecksum(users)}\n`);
    await db.query("UPDATE confiture_migrations SET checksum = $1 WHERE version = '001_create_users'", [
      sum.stdout.trim(),
    ]);

    const fixed = await cli(["migrate", "status"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toMatch(/^001_create_users\s+applied/m);
    expect((await cli(["migrate", "verify-checksums"])).code).toBe(0);

    // up does not re-run 001 (it would fail: users exists) and applies 002.
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toContain("001_create_users");
    expect(up.stdout).toMatch(/^applied 002_add_email/m);
    expect(up.stdout).toContain("1 migration(s) applied (1 were already applied).");
    const rows = await db.query(
      "select version, name, status, applied_by, execution_ms from confiture_migrations order by version",
    );
    expect(rows.rows).toEqual([
      // The hand-written row is left exactly as the operator wrote it (defaults filled by the table).
      {
        version: "001_create_users",
        name: null,
        status: "applied",
        applied_by: TEST_ROLE,
        execution_ms: null,
      },
      expect.objectContaining({ version: "002_add_email", name: "add_email", status: "applied" }),
    ]);
  });
});

describe("status states", () => {
  it("a history row whose file is gone is `missing file` (exit 3)", async () => {
    const s = "hist_missing";
    const { p, cli } = await setup(s, three(s));
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await rm(p.path("db/migrations/002_b.up.sql"));

    const status = await cli(["migrate", "status"]);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/^002_b\s+missing file/m);
    expect(status.stdout).toMatch(/^003_c\s+applied/m);
    // `ok` is true exactly when the exit code is 0: a check that found problems is ok:false.
    const json = expectJson(await cli(["migrate", "status", "--format", "json"]), 3, false);
    expect(json).toMatchObject({ problems: true, counts: { applied: 2, "missing file": 1 } });
    expect(json.error?.code).toBe("MIGRATION_FILE_MISSING");
    const verify = await cli(["migrate", "verify-checksums"]);
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(/^missing file\s+002_b$/m);
  });

  it("baseline rows show `baseline` and are not a problem (exit 0)", async () => {
    const s = "hist_baseline";
    const { cli } = await setup(s, three(s));
    const b = await cli(["migrate", "baseline", "--through", "002_b"]);
    expect(b.code, b.stderr).toBe(0);
    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/^001_a\s+baseline/m);
    expect(status.stdout).toMatch(/^002_b\s+baseline/m);
    expect(status.stdout).toMatch(/^003_c\s+pending/m);
    expect(status.stdout.trimEnd().split("\n").at(-1)).toBe("1 pending, 2 baseline");
    const rows = await db.query<{ version: string; status: string }>(
      `select version, status from ${s}.confiture_migrations order by version`,
    );
    expect(rows.rows).toEqual([
      { version: "001_a", status: "baseline" },
      { version: "002_b", status: "baseline" },
    ]);
    // Baselined migrations were not run.
    expect(await exists(`${s}.a`)).toBe(false);
  });
});
