/**
 * Safe defaults (issue "The first hour"): `up` verifies checksums unless told not to; an
 * environment the user names is never overridden by an ambient DATABASE_URL; every changing
 * command names its target database; a rollback that drops tables holding rows says so first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, SENTINEL_PASSWORD, type TestDatabase } from "../support/database.js";
import { cliFor, expectJson } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
let other: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("safe");
  other = await createTestDatabase("safe_other");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db.drop();
  await other.drop();
});

async function project(config: string, migrations: Record<string, string>) {
  const p = await makeProject({ config, migrations });
  projects.push(p);
  return p;
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

describe("migrate up verifies checksums by default", () => {
  it("refuses an edited applied file (exit 3, names it and the --repair way out); --no-verify-checksums applies", async () => {
    const p = await project("schema: safe_sum\n", { "001_a.up.sql": "create table a (id int);\n" });
    const cli = cliFor(p.dir, { DATABASE_URL: db.url });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write("db/migrations/001_a.up.sql", "create table a (id bigint);\n");
    await p.write("db/migrations/002_b.up.sql", "create table b (id int);\n");

    const refused = await cli(["migrate", "up"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("001_a");
    expect(refused.stderr).toContain('"confiture migrate verify-checksums --repair 001_a"');
    expect(refused.stderr).toContain("--no-verify-checksums");
    expect(expectJson(await cli(["migrate", "up", "--format", "json"]), 3, false).error?.code).toBe(
      "CHECKSUM_MISMATCH",
    );
    expect((await db.query("select to_regclass('safe_sum.b') as t")).rows[0]?.t).toBeNull();

    // The runbook's spelling stays accepted and means the same.
    expect((await cli(["migrate", "up", "--verify-checksums"])).code).toBe(3);

    const forced = await cli(["migrate", "up", "--no-verify-checksums"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("applied 002_b");
    expect((await db.query("select to_regclass('safe_sum.b') as t")).rows[0]?.t).toBe("safe_sum.b");
  });
});

describe("the right database", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a confiture.yaml ${VAR} reference, expanded by Confiture
  const config = "schema: safe_env\nenvironments:\n  production:\n    database_url: ${PROD_URL}";

  it("-e production is never overridden by an ambient DATABASE_URL; without -e, DATABASE_URL reaches the copy", async () => {
    const p = await project(`${config}\n`, { "001_a.up.sql": "create table a (id int);\n" });
    const cli = cliFor(p.dir, { PROD_URL: db.url, DATABASE_URL: other.url });

    const prod = await cli(["-e", "production", "migrate", "up"]);
    expect(prod.code, prod.stderr).toBe(0);
    expect((await db.query("select to_regclass('safe_env.a') as t")).rows[0]?.t).toBe("safe_env.a");
    expect((await other.query("select to_regclass('safe_env.a') as t")).rows[0]?.t).toBeNull();

    const shown = await cli(["-e", "production", "config", "show", "--format", "json"]);
    expect(expectJson(shown, 0, true).config).toMatchObject({
      database_url_source: "environments.production.database_url",
    });

    // The runbook: DATABASE_URL=<restored copy> confiture migrate status, no environment named.
    const copy = await cli(["migrate", "status", "--format", "json"]);
    expect(expectJson(copy, 0, true)).toMatchObject({ database: other.name, trackingTableExists: false });
  });

  it("every changing command says once on stderr which database it changes and where the URL came from", async () => {
    const p = await project(`${config}\n`, {
      "001_a.up.sql": "create table a (id int);\n",
      "001_a.down.sql": "drop table a;\n",
    });
    const cli = cliFor(p.dir, { PROD_URL: db.url, DATABASE_URL: other.url });
    const user = new URL(db.url).username;
    const host = new URL(db.url).host;

    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect([up.target, up.stderr]).toEqual([`target: ${user}@${host}/${other.name} (DATABASE_URL)`, ""]);

    const down = await cli(["migrate", "down", "--steps", "1"]);
    expect(down.code, down.stderr).toBe(0);
    expect([down.target, down.stderr]).toEqual([`target: ${user}@${host}/${other.name} (DATABASE_URL)`, ""]);

    const prod = await cli(["-e", "production", "migrate", "up"]);
    expect(prod.code, prod.stderr).toBe(0);
    expect([prod.target, prod.stderr]).toEqual([
      `target: ${user}@${host}/${db.name} (environment production)`,
      "",
    ]);

    const byFlag = await cli(["migrate", "baseline", "--through", "001_a", "--database-url", db.url]);
    expect([byFlag.target, byFlag.stderr]).toEqual([
      `target: ${user}@${host}/${db.name} (--database-url)`,
      "",
    ]);

    // Read-only commands and dry runs change nothing and say nothing; --quiet silences it.
    for (const args of [
      ["migrate", "status"],
      ["-e", "production", "migrate", "up", "--dry-run"],
      ["-e", "production", "--quiet", "migrate", "up"],
    ]) {
      const r = await cli(args);
      expect([r.target, r.stderr], args.join(" ")).toEqual([undefined, ""]);
    }
    for (const r of [up, down, prod, byFlag])
      expect(`${r.target}${r.stderr}`).not.toContain(SENTINEL_PASSWORD);
  });
});

describe("a rollback that drops data says so before it runs", () => {
  it("warns with the tables and their row counts in an unprotected environment", async () => {
    const p = await project("schema: safe_drop\n", {
      "001_a.up.sql": "create table a (id int);\ninsert into a values (1), (2);\n",
      "001_a.down.sql": "drop table a;\n",
      "002_b.up.sql": "create table b (id int);\n",
      "002_b.down.sql": "drop table if exists b;\n",
    });
    const cli = cliFor(p.dir, { DATABASE_URL: db.url });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const down = await cli(["migrate", "down", "--steps", "2"]);
    expect(down.code, down.stderr).toBe(0);
    const warning = lines(down.stderr).filter((l) => l.startsWith("warning:"));
    // b is empty: only a's rows are at risk.
    expect(warning).toEqual(["warning: rolling back deletes data: 001_a drops safe_drop.a (2 rows)"]);
    expect((await db.query("select to_regclass('safe_drop.a') as t")).rows[0]?.t).toBeNull();
  });
});
