// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is confiture.yaml syntax.
/**
 * Every command of the README's command reference, run as a user runs it: the built CLI as a
 * subprocess against a real database. Each test checks stdout, stderr, the exit code and what the
 * database holds afterwards (schema, the tracking table, the confiture_events audit rows), and
 * `--format json` gives exactly one document. Each test works in its own schema.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { SENTINEL_PASSWORD, TEST_ROLE } from "../support/database.js";
import { cliFor, expectedChecksum, expectJson, fileDatabase } from "../support/e2e.js";
import { makeProject } from "../support/project.js";

const suite = fileDatabase("commands");
/** A project whose confiture.yaml manages `schema`, and a CLI bound to it and the test database. */
const setup = suite.project;

async function history(schema: string): Promise<Array<{ version: string; status: string }>> {
  const r = await suite.db.query<{ version: string; status: string }>(
    `select version, status from ${schema}.confiture_migrations order by version`,
  );
  return r.rows;
}

async function exists(qualified: string): Promise<boolean> {
  const r = await suite.db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

interface EventRow {
  actor: string;
  host: string | null;
  command: string;
  environment: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

async function events(schema: string, command?: string): Promise<EventRow[]> {
  const r = await suite.db.query<EventRow>(
    `select actor, host, command, environment, outcome, details from ${schema}.confiture_events
      where $1::text is null or command = $1 order by id`,
    [command ?? null],
  );
  return r.rows;
}

const lines = (text: string) => text.trimEnd().split("\n");

describe("confiture init", () => {
  it("scaffolds the missing project files and the history tables; a second run says the table exists", async () => {
    const p = await makeProject();
    suite.track(p);
    const cli = cliFor(p.dir, { DATABASE_URL: suite.db.url, CONFITURE_SCHEMA: "cmd_init" });

    const first = await cli(["init"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe("");
    // db/migrations already exists in a test project; the rest is created and named.
    expect(lines(first.stdout)).toEqual([
      `created ${p.path("confiture.yaml")}`,
      `created ${p.path("db/schema")}`,
      "created the tracking table",
    ]);
    const yaml = await readFile(p.path("confiture.yaml"), "utf8");
    expect(yaml).toContain("tracking_table: confiture_migrations");
    expect(yaml).toContain("lock_timeout: 60s");
    expect(yaml).not.toContain(SENTINEL_PASSWORD);
    expect(existsSync(p.path("db/schema"))).toBe(true);
    expect(await exists("cmd_init.confiture_migrations")).toBe(true);
    expect(await exists("cmd_init.confiture_events")).toBe(true);
    expect(await history("cmd_init")).toEqual([]);
    expect(await events("cmd_init")).toMatchObject([
      { command: "init", outcome: "success", actor: TEST_ROLE, host: hostname() },
    ]);

    const again = await cli(["init"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe("");
    expect(again.stdout).toBe("The tracking table already exists.\n");
    const json = expectJson(await cli(["init", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ command: "init", created: [], trackingTable: "exists" });
    // Re-running created nothing and recorded nothing new.
    expect(await events("cmd_init")).toHaveLength(1);
  });
});

describe("confiture migrate generate", () => {
  it("creates a UTC-timestamped .up.sql/.down.sql pair with a sanitized name that migrate up accepts", async () => {
    const { p, cli } = await setup("cmd_gen");
    const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    const before = stamp(new Date());

    const r = await cli(["migrate", "generate", "Add Users.Email"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const m =
      /^created (.*\/(\d{14})_add_users_email\.up\.sql)\ncreated (.*\/\d{14}_add_users_email\.down\.sql)\n$/.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const version = m![2]!;
    expect(version >= before).toBe(true);
    expect(version <= stamp(new Date(Date.now() + 5_000))).toBe(true);
    expect(m![1]).toBe(p.path(`db/migrations/${version}_add_users_email.up.sql`));
    expect(existsSync(m![3]!)).toBe(true);

    // A second generate in the same second still gets a later, distinct version.
    const second = expectJson(
      await cli(["migrate", "generate", "  second step ", "--format", "json"]),
      0,
      true,
    );
    expect(second.id).toMatch(/^\d{14}_second_step$/);
    expect(String(second.id).slice(0, 14) > version).toBe(true);
    expect((await readdir(p.path("db/migrations"))).sort()).toEqual(
      [
        `${version}_add_users_email.down.sql`,
        `${version}_add_users_email.up.sql`,
        `${second.id}.down.sql`,
        `${second.id}.up.sql`,
      ].sort(),
    );

    // The generated files are real migrations: fill them in and apply.
    await writeFile(m![1]!, "create table cmd_gen.users (id int, email text);\n");
    await writeFile(
      p.path(`db/migrations/${second.id}.up.sql`),
      "alter table cmd_gen.users add column n int;\n",
    );
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(await history("cmd_gen")).toEqual([
      { version: `${version}_add_users_email`, status: "applied" },
      { version: String(second.id), status: "applied" },
    ]);
  });

  it("refuses a name that is not letters, digits, spaces, _ or - with exit 2 and creates nothing", async () => {
    const { p, cli } = await setup("cmd_gen_bad");
    const r = await cli(["migrate", "generate", "drop/users;"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: migration name "drop\/users;" must be letters, digits/);
    const json = expectJson(await cli(["migrate", "generate", "a$b", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("BAD_MIGRATION_NAME");
    expect(await readdir(p.path("db/migrations"))).toEqual([]);
  });
});

describe("confiture migrate up", () => {
  it("applies pending migrations in numeric order (1, 2, 10) and records each with applied_by and execution_ms", async () => {
    const s = "cmd_up";
    const { cli } = await setup(s, {
      "10_ten.up.sql": `insert into ${s}.log (n) values (10);\n`,
      "2_two.up.sql": `insert into ${s}.log (n) values (2);\n`,
      "1_one.up.sql": `create table ${s}.log (seq serial primary key, n int);\ninsert into ${s}.log (n) values (1);\n`,
    });

    const r = await cli(["migrate", "up"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout).map((l) => l.replace(/ \(\d+ ms\)$/, ""))).toEqual([
      "applied 1_one",
      "applied 2_two",
      "applied 10_ten",
      "3 migration(s) applied (0 were already applied).",
    ]);
    const log = await suite.db.query<{ n: number }>(`select n from ${s}.log order by seq`);
    expect(log.rows.map((row) => row.n)).toEqual([1, 2, 10]);

    const rows = await suite.db.query<{
      version: string;
      name: string;
      checksum: string;
      execution_ms: number | null;
      applied_by: string | null;
      status: string;
      error: string | null;
    }>(
      `select version, name, checksum, execution_ms, applied_by, status, error
         from ${s}.confiture_migrations order by applied_at, version`,
    );
    expect(rows.rows.map((row) => row.version)).toEqual(["1_one", "2_two", "10_ten"]);
    for (const row of rows.rows) {
      expect(row.status).toBe("applied");
      expect(row.error).toBeNull();
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isInteger(row.execution_ms)).toBe(true);
      expect(row.execution_ms).toBeGreaterThanOrEqual(0);
      expect(row.applied_by).toContain(`${TEST_ROLE}@${hostname()}`);
    }
    expect(rows.rows.map((row) => row.name)).toEqual(["one", "two", "ten"]);
    expect(await events(s, "migrate up")).toMatchObject([
      { outcome: "success", host: hostname(), details: { applied: ["1_one", "2_two", "10_ten"] } },
    ]);

    const again = await cli(["migrate", "up"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("Nothing to apply: 3 migration(s) already applied.\n");
    expect(await events(s, "migrate up")).toHaveLength(1);
  });

  it("creates the tracking table with the SPEC section 3 columns", async () => {
    const s = "cmd_columns";
    const { cli } = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const cols = await suite.db.query<{
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
    }>(
      `select column_name, data_type, is_nullable, column_default from information_schema.columns
        where table_schema = $1 and table_name = 'confiture_migrations' order by ordinal_position`,
      [s],
    );
    expect(cols.rows).toEqual([
      { column_name: "version", data_type: "text", is_nullable: "NO", column_default: null },
      { column_name: "name", data_type: "text", is_nullable: "YES", column_default: null },
      { column_name: "checksum", data_type: "text", is_nullable: "YES", column_default: null },
      {
        column_name: "applied_at",
        data_type: "timestamp with time zone",
        is_nullable: "NO",
        column_default: "now()",
      },
      { column_name: "execution_ms", data_type: "integer", is_nullable: "YES", column_default: null },
      { column_name: "applied_by", data_type: "text", is_nullable: "YES", column_default: "CURRENT_USER" },
      { column_name: "status", data_type: "text", is_nullable: "NO", column_default: "'applied'::text" },
      { column_name: "error", data_type: "text", is_nullable: "YES", column_default: null },
    ]);
    const pk = await suite.db.query<{ column_name: string }>(
      `select k.column_name from information_schema.table_constraints c
         join information_schema.key_column_usage k using (constraint_schema, constraint_name)
        where c.table_schema = $1 and c.table_name = 'confiture_migrations' and c.constraint_type = 'PRIMARY KEY'`,
      [s],
    );
    expect(pk.rows).toEqual([{ column_name: "version" }]);
  });

  it("--target applies up to and including the target and reports what stays pending", async () => {
    const s = "cmd_target";
    const { cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
      "003_c.up.sql": `create table ${s}.c (id int);\n`,
    });
    const r = await cli(["migrate", "up", "--target", "002_b"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("2 migration(s) applied (0 were already applied).");
    expect(r.stdout).toContain("1 pending after the target: 003_c");
    expect(await history(s)).toEqual([
      { version: "001_a", status: "applied" },
      { version: "002_b", status: "applied" },
    ]);
    expect(await exists(`${s}.c`)).toBe(false);
    expect(await events(s, "migrate up")).toMatchObject([
      { outcome: "success", details: { applied: ["001_a", "002_b"], target: "002_b" } },
    ]);

    // A bare version works as a target too; JSON lists what was applied.
    const json = expectJson(await cli(["migrate", "up", "--target", "3", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ command: "migrate up", dryRun: false, alreadyApplied: 2, remaining: [] });
    expect((json.applied as Array<{ id: string }>).map((a) => a.id)).toEqual(["003_c"]);
    expect(await exists(`${s}.c`)).toBe(true);
  });

  it("--dry-run really runs the migrations and rolls everything back: no table, no schema, no history", async () => {
    const s = "cmd_dry";
    const { p, cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\ninsert into ${s}.a values (1);\n`,
      "002_b.up.sql": `alter table ${s}.a add column note text;\n`,
    });
    const r = await cli(["migrate", "up", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout).map((l) => l.replace(/ \(\d+ ms\)$/, ""))).toEqual([
      "would apply 001_a",
      "would apply 002_b",
      "Dry run: 2 migration(s) ran and were rolled back; nothing was changed.",
    ]);
    const schemas = await suite.db.query("select 1 from pg_namespace where nspname = $1", [s]);
    expect(schemas.rowCount).toBe(0);
    expect(await exists(`${s}.a`)).toBe(false);
    expect(await exists(`${s}.confiture_migrations`)).toBe(false);

    // It executes for real: an error in a later migration is found, and still nothing stays.
    await p.write("db/migrations/003_c.up.sql", `insert into ${s}.nope values (1);\n`);
    const failing = await cli(["migrate", "up", "--dry-run"]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toBe("");
    expect(failing.stderr).toContain("migration 003_c failed at line 1");
    expect(failing.stderr).toContain("(42P01)");
    expect(failing.stderr).toContain("dry run: 001_a, 002_b ran before it; everything was rolled back");
    expect(await exists(`${s}.a`)).toBe(false);
    expect(await exists(`${s}.confiture_migrations`)).toBe(false);
  });

  it("--verify-checksums starts when every applied file is unchanged", async () => {
    const s = "cmd_upverify";
    const { p, cli } = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write("db/migrations/002_b.up.sql", `create table ${s}.b (id int);\n`);
    const r = await cli(["migrate", "up", "--verify-checksums"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("1 migration(s) applied (1 were already applied).");
    expect(await history(s)).toEqual([
      { version: "001_a", status: "applied" },
      { version: "002_b", status: "applied" },
    ]);
  });
});

describe("confiture migrate down", () => {
  const s = "cmd_down";
  const files = {
    "001_a.up.sql": `create table ${s}.t1 (id int);\n`,
    "002_b.up.sql": `create table ${s}.t2 (id int);\n`,
    "002_b.down.sql": `drop table ${s}.t2;\n`,
    "003_c.up.sql": `create table ${s}.t3 (id int);\n`,
    "003_c.down.sql": `drop table ${s}.t3;\n`,
  };

  it("--dry-run, --steps N, --target ID roll back newest first; a missing down file stops before anything runs", async () => {
    const { cli } = await setup(s, files);
    expect((await cli(["migrate", "up"])).code).toBe(0);

    const dry = await cli(["migrate", "down", "--steps", "1", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(lines(dry.stdout).map((l) => l.replace(/ \(\d+ ms\)$/, ""))).toEqual([
      "would roll back 003_c",
      "Dry run: 1 migration(s) ran and were rolled back; nothing was changed.",
    ]);
    expect(await exists(`${s}.t3`)).toBe(true);
    expect(await history(s)).toHaveLength(3);

    const two = await cli(["migrate", "down", "--steps", "2"]);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toBe("");
    expect(lines(two.stdout).map((l) => l.replace(/ \(\d+ ms\)$/, ""))).toEqual([
      "rolled back 003_c",
      "rolled back 002_b",
      "2 migration(s) rolled back.",
    ]);
    expect(await history(s)).toEqual([{ version: "001_a", status: "applied" }]);
    expect(await exists(`${s}.t2`)).toBe(false);
    expect(await exists(`${s}.t3`)).toBe(false);
    expect(await events(s, "migrate down")).toMatchObject([
      { outcome: "success", host: hostname(), details: { rolledBack: ["003_c", "002_b"], forced: false } },
    ]);

    expect((await cli(["migrate", "up"])).code).toBe(0);
    const target = expectJson(
      await cli(["migrate", "down", "--target", "001_a", "--format", "json"]),
      0,
      true,
    );
    expect((target.rolledBack as Array<{ id: string }>).map((x) => x.id)).toEqual(["003_c", "002_b"]);
    expect(await history(s)).toEqual([{ version: "001_a", status: "applied" }]);
    expect(await exists(`${s}.t1`)).toBe(true);

    // 001_a has no down file: the run stops with a clear message and nothing is rolled back.
    const none = await cli(["migrate", "down", "--steps", "1"]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("001_a has no down file");
    expect(none.stderr).toContain("Nothing was rolled back.");
    expect(await history(s)).toEqual([{ version: "001_a", status: "applied" }]);
    expect(await exists(`${s}.t1`)).toBe(true);
  });
});

describe("confiture migrate status", () => {
  it("lists applied and pending migrations (exit 0 when clean); --verbose adds server version and the lock line", async () => {
    const s = "cmd_status";
    const { cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
    });
    // Read-only: on a fresh database it reports, and creates nothing.
    const fresh = await cli(["migrate", "status"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain(`tracking table ${s}.confiture_migrations (does not exist yet)`);
    expect(fresh.stdout).toContain("2 pending");
    expect(await exists(`${s}.confiture_migrations`)).toBe(false);

    expect((await cli(["migrate", "up", "--target", "001_a"])).code).toBe(0);
    const r = await cli(["migrate", "status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const out = lines(r.stdout);
    expect(out[0]).toBe(`Database ${suite.db.name}, tracking table ${s}.confiture_migrations`);
    expect(out).toContainEqual(expect.stringMatching(/^001_a\s+applied\s+\d{4}-\d\d-\d\dT/));
    expect(out).toContainEqual(expect.stringMatching(/^002_b\s+pending$/));
    expect(out.at(-1)).toBe("1 applied, 1 pending");

    const verbose = await cli(["migrate", "status", "--verbose"]);
    expect(verbose.code, verbose.stderr).toBe(0);
    const version = (await suite.db.query<{ v: string }>("select current_setting('server_version') as v"))
      .rows[0]!.v;
    expect(verbose.stdout).toContain(`Server: PostgreSQL ${version}`);
    expect(verbose.stdout).toContain("Lock: free");
    expect(verbose.stdout).toMatch(new RegExp(`001_a\\s+applied.*${TEST_ROLE}@`));

    const json = expectJson(await cli(["migrate", "status", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ problems: false, counts: { applied: 1, pending: 1 } });
  });
});

describe("confiture migrate verify-checksums", () => {
  it("exit 0 when files match, exit 3 on a change, and --repair ID accepts the new content as an event", async () => {
    const s = "cmd_verify";
    const { p, cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const clean = await cli(["migrate", "verify-checksums"]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toBe("All 2 applied migration checksums match their files.\n");

    const original = await readFile(p.path("db/migrations/002_b.up.sql"), "utf8");
    const edited = `create table ${s}.b (id int, note text);\n`;
    await p.write("db/migrations/002_b.up.sql", edited);
    const bad = await cli(["migrate", "verify-checksums"]);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(
      new RegExp(
        `mismatch\\s+002_b: recorded ${expectedChecksum(original)}, file ${expectedChecksum(edited)}`,
      ),
    );
    expect(bad.stdout).toContain('run "confiture migrate verify-checksums --repair ID"');
    const badJson = expectJson(await cli(["migrate", "verify-checksums", "--format", "json"]), 3, false);
    expect(badJson.error?.code).toBe("CHECKSUM_MISMATCH");
    expect(badJson.problems).toEqual([
      {
        id: "002_b",
        kind: "mismatch",
        recorded: expectedChecksum(original),
        actual: expectedChecksum(edited),
      },
    ]);

    const repair = await cli(["migrate", "verify-checksums", "--repair", "002_b"]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stdout).toBe(`Checksum of 002_b updated to ${expectedChecksum(edited)}.\n`);
    const row = await suite.db.query<{ checksum: string }>(
      `select checksum from ${s}.confiture_migrations where version = '002_b'`,
    );
    expect(row.rows[0]?.checksum).toBe(expectedChecksum(edited));
    expect(await events(s, "migrate verify-checksums --repair")).toMatchObject([
      {
        outcome: "success",
        host: hostname(),
        details: {
          migration: "002_b",
          previous: expectedChecksum(original),
          checksum: expectedChecksum(edited),
        },
      },
    ]);
    expect((await cli(["migrate", "verify-checksums"])).code).toBe(0);
  });
});

describe("confiture migrate checksum", () => {
  it("prints the SHA-256 of the LF-normalized, BOM-stripped file, by path, id or version", async () => {
    const s = "cmd_checksum";
    const lf = `-- users\ncreate table ${s}.users (id int);\n`;
    const withBomCrlf = `\uFEFF${lf.replace(/\n/g, "\r\n")}`;
    const { cli } = await setup(s, { "001_create_users.up.sql": withBomCrlf });
    const expected = expectedChecksum(lf);
    expect(expectedChecksum(withBomCrlf)).toBe(expected);

    for (const ref of ["db/migrations/001_create_users.up.sql", "001_create_users", "1"]) {
      const r = await cli(["migrate", "checksum", ref], { DATABASE_URL: undefined });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`${expected}\n`);
    }
    const json = expectJson(
      await cli(["migrate", "checksum", "001_create_users", "--format", "json"]),
      0,
      true,
    );
    expect(json).toMatchObject({ id: "001_create_users", checksum: expected });
    const missing = expectJson(await cli(["migrate", "checksum", "404_nope", "--format", "json"]), 2, false);
    expect(missing.error?.code).toBe("MIGRATION_NOT_FOUND");

    // And it is what `up` records.
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const row = await suite.db.query<{ checksum: string }>(`select checksum from ${s}.confiture_migrations`);
    expect(row.rows).toEqual([{ checksum: expected }]);
  });
});

describe("confiture migrate baseline", () => {
  it("--through ID records earlier migrations as baseline without running them; up then runs only the rest", async () => {
    const s = "cmd_baseline";
    const files = {
      "001_a.up.sql": `create table ${s}.t1 (id int);\n`,
      "002_b.up.sql": `create table ${s}.t2 (id int);\n`,
      "003_c.up.sql": `create table ${s}.t3 (id int);\n`,
    };
    const { cli } = await setup(s, files);
    // An existing database that already has what 001 and 002 create.
    await suite.db.query(`create schema ${s}; create table ${s}.t1 (id int); create table ${s}.t2 (id int);`);
    await suite.db.query(`insert into ${s}.t1 values (42)`);

    const r = await cli(["migrate", "baseline", "--through", "002_b"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([
      "baseline 001_a",
      "baseline 002_b",
      "2 migration(s) marked as applied (baseline); 0 already recorded.",
    ]);
    const rows = await suite.db.query<{ version: string; status: string; checksum: string }>(
      `select version, status, checksum from ${s}.confiture_migrations order by version`,
    );
    expect(rows.rows).toEqual([
      { version: "001_a", status: "baseline", checksum: expectedChecksum(files["001_a.up.sql"]) },
      { version: "002_b", status: "baseline", checksum: expectedChecksum(files["002_b.up.sql"]) },
    ]);
    expect((await suite.db.query(`select id from ${s}.t1`)).rows).toEqual([{ id: 42 }]);
    expect(await events(s, "migrate baseline")).toMatchObject([
      { outcome: "success", details: { through: "002_b", baselined: ["001_a", "002_b"], skipped: [] } },
    ]);

    // If up re-ran 001 or 002 it would fail on "already exists".
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("1 migration(s) applied (2 were already applied).");
    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/001_a\s+baseline/);
    expect(status.stdout).toMatch(/002_b\s+baseline/);
    expect(status.stdout).toMatch(/003_c\s+applied/);
  });
});

describe("confiture migrate resolve", () => {
  it("--applied settles a failed no-transaction migration that was finished by hand; events record it", async () => {
    const s = "cmd_resolve";
    const { cli } = await setup(s, {
      "001_nt.up.sql": [
        "-- confiture:no-transaction",
        `create table ${s}.items (id int);`,
        `insert into ${s}.missing values (1);`,
        `create index concurrently items_id_idx on ${s}.items (id);`,
        "",
      ].join("\n"),
    });
    const failed = await cli(["migrate", "up"]);
    expect(failed.code).toBe(1);
    expect(await history(s)).toEqual([{ version: "001_nt", status: "failed" }]);

    const neither = await cli(["migrate", "resolve", "001_nt"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("give exactly one of --applied or --rolled-back");

    // The operator finishes the work by hand, then tells Confiture it is applied.
    await suite.db.query(`create index items_id_idx on ${s}.items (id)`);
    const r = await cli(["migrate", "resolve", "001_nt", "--applied"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("001_nt recorded as applied.\n");
    const row = await suite.db.query<{ status: string; error: string | null }>(
      `select status, error from ${s}.confiture_migrations where version = '001_nt'`,
    );
    expect(row.rows).toEqual([{ status: "applied", error: null }]);
    const ev = await events(s, "migrate resolve --applied");
    expect(ev).toMatchObject([{ outcome: "success", host: hostname(), details: { migration: "001_nt" } }]);
    expect(String(ev[0]?.details.previousError)).toContain("statement 2 of 3 failed");
    expect(await events(s, "migrate up")).toMatchObject([{ outcome: "failed" }]);

    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toBe("Nothing to apply: 1 migration(s) already applied.\n");
    const again = expectJson(
      await cli(["migrate", "resolve", "001_nt", "--applied", "--format", "json"]),
      2,
      false,
    );
    expect(again.error?.message).toContain("001_nt is recorded as applied, not failed");
  });
});

describe("confiture lock status / unlock", () => {
  it("reports a free lock; unlock with nothing held exits 0; an idle holder is terminated and audited", async () => {
    const s = "cmd_lock";
    const { cli } = await setup(s);
    expect((await cli(["init"])).code).toBe(0);

    const free = await cli(["lock", "status"]);
    expect(free.code, free.stderr).toBe(0);
    expect(free.stdout).toBe(`The migration lock (${s}.confiture_migrations) is free.\n`);
    const nothing = await cli(["unlock"]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toBe("The migration lock is not held; nothing to do.\n");
    expect(await events(s, "unlock")).toEqual([]);

    // A session that took the lock and went idle (a stuck tool, a forgotten psql).
    const holder = new pg.Client({ connectionString: suite.db.url, application_name: "stuck deploy" });
    holder.on("error", () => {});
    await holder.connect();
    try {
      const key = migrationLockKey(s, "confiture_migrations");
      const pid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      await holder.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);

      const held = expectJson(await cli(["lock", "status", "--format", "json"]), 0, true);
      expect(held).toMatchObject({
        held: true,
        holder: { pid, application: "stuck deploy", state: "idle", user: TEST_ROLE },
      });
      const text = await cli(["lock", "status"]);
      expect(text.stdout).toContain(`is held by:\n  pid          ${pid}\n  user         ${TEST_ROLE}\n`);
      expect(text.stdout).toContain("\n  application  stuck deploy\n");

      const r = await cli(["unlock"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`Terminated pid ${pid}; the migration lock is free.\n`);
      await expect(holder.query("select 1")).rejects.toThrow();
      expect(await events(s, "unlock")).toMatchObject([
        {
          outcome: "success",
          host: hostname(),
          details: { terminated: { pid, application: "stuck deploy" } },
        },
      ]);
      expectJson(await cli(["lock", "status", "--format", "json"]), 0, true);
      expect((await cli(["lock", "status"])).stdout).toContain("is free");
    } finally {
      await holder.end().catch(() => {});
    }
  });
});

describe("confiture config show", () => {
  it("shows the effective configuration with the password as *** and names where the URL came from", async () => {
    const p = await makeProject({
      config: "database_url: ${APP_DB_URL}\nschema: cmd_cfg\nlock_timeout: 30s\n",
    });
    suite.track(p);
    const cli = cliFor(p.dir, { APP_DB_URL: suite.db.url });
    const u = new URL(suite.db.url);
    const redacted = `postgres://${TEST_ROLE}:***@${u.host}${u.pathname}`;

    const r = await cli(["config", "show"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`database_url: ${redacted}`);
    expect(r.stdout).toContain("database_url_source: database_url\n");
    expect(r.stdout).toContain(`config_file: ${p.path("confiture.yaml")}`);
    expect(r.stdout).toContain("schema: cmd_cfg");
    expect(r.stdout).toContain("lock_timeout: 30s");

    const env = await cli(["config", "show"], { DATABASE_URL: suite.db.url, CONFITURE_LOCK_TIMEOUT: "5s" });
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toContain("database_url_source: DATABASE_URL\n");
    expect(env.stdout).toContain("lock_timeout: 5s");
    expect(env.stdout).toMatch(/overrides_in_effect:\n\s+- CONFITURE_LOCK_TIMEOUT/);

    const json = expectJson(
      await cli(["config", "show", "--database-url", suite.db.url, "--format", "json"]),
      0,
      true,
    );
    expect(json.config).toMatchObject({
      database_url: redacted,
      database_url_source: "--database-url",
      schema: "cmd_cfg",
    });
  });
});

describe("--format json on failures", () => {
  it("prints one {ok:false,error:{code,message}} document with the exit code, nothing JSON on stderr", async () => {
    const s = "cmd_json";
    const { cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\ninsert into ${s}.nope values (1);\n`,
    });
    const failed = expectJson(await cli(["migrate", "up", "--format", "json"]), 1, false);
    expect(failed).toMatchObject({ command: "migrate up", error: { code: "MIGRATION_FAILED" } });
    expect(failed.error?.message).toContain("migration 002_b failed at line 2");
    expect(await history(s)).toEqual([{ version: "001_a", status: "applied" }]);

    const u = new URL(suite.db.url);
    u.port = "1";
    const refused = expectJson(
      await cli(["migrate", "status", "--format", "json"], { DATABASE_URL: u.toString() }),
      5,
      false,
    );
    expect(refused.error?.code).toBe("CONNECTION_FAILED");
    expect(refused.error?.message).toContain(`${TEST_ROLE}:***@`);

    const usage = expectJson(await cli(["migrate", "down", "--format", "json"]), 2, false);
    expect(usage.error?.message).toContain("give exactly one of --steps N or --target ID");
  });
});
