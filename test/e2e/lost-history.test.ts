/**
 * Lost history is never mistaken for a fresh database (SPEC section 5): with an empty or missing
 * tracking table over a schema that already holds user objects, `status` says so (exit 3) and
 * `up` refuses before running anything, unless `--adopt-non-empty`. Extension-owned objects,
 * sequences owned by a column and Confiture's own tables do not count.
 */
import { describe, expect, it } from "vitest";
import { expectJson, fileDatabase } from "../support/e2e.js";

const suite = fileDatabase("lost history");

/** A project whose migrations live in their own schema `s` (and optionally tracking table). */
async function setup(s: string, migrations: Record<string, string>, trackingTable?: string) {
  return (await suite.project(s, migrations, trackingTable ? `tracking_table: ${trackingTable}\n` : "")).cli;
}

const tables = async (s: string) =>
  (
    await suite.db.query<{ t: string }>(
      "select table_name as t from information_schema.tables where table_schema = $1 order by 1",
      [s],
    )
  ).rows.map((r) => r.t);

describe("lost history", () => {
  it("after the tracking table is dropped: status exits 3 naming what exists, up refuses and changes nothing", async () => {
    const s = "lost_dropped";
    await suite.db.query(`create schema ${s}`);
    const cli = await setup(s, {
      "001_users.up.sql": `create table ${s}.users (id int generated always as identity primary key);\n`,
      "002_orders.up.sql": `create table ${s}.orders (id serial primary key);\ncreate type ${s}.mood as enum ('ok');\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await suite.db.query(`drop table ${s}.confiture_migrations`);

    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(3);
    expect(status.stdout).toMatch(/^001_users\s+pending/m);
    // Owned sequences (identity, serial) come with their tables; the events table is Confiture's.
    expect(status.stdout).toContain(
      `The history (${s}.confiture_migrations) is empty but schema ${s} already holds 3 object(s): table orders, table users, enum mood: this looks like lost history, not a new database.`,
    );

    const before = await tables(s);
    const up = await cli(["migrate", "up"]);
    expect(up.code).toBe(3);
    expect(up.stdout).toBe("");
    expect(up.stderr).toMatch(
      /^error: refusing to migrate: the history \(lost_dropped\.confiture_migrations\) is empty/,
    );
    expect(up.stderr).toContain('"confiture migrate baseline --through ID"');
    expect(up.stderr).toContain('"confiture migrate up --adopt-non-empty"');
    expect(up.stderr.trimEnd()).toMatch(/Nothing was applied\.$/);
    expect(up.stderr.trim().split("\n")).toHaveLength(1);
    // Nothing was created, not even the tracking table.
    expect(await tables(s)).toEqual(before);
    expect(before).not.toContain("confiture_migrations");

    const json = await cli(["migrate", "up", "--format", "json"]);
    const doc = expectJson(json, 3, false);
    expect(doc.error?.code).toBe("HISTORY_LOST");
  });

  it("after the tracking table is emptied: the same refusal; baseline then settles it", async () => {
    const s = "lost_truncated";
    await suite.db.query(`create schema ${s}`);
    const cli = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
    });
    expect((await cli(["migrate", "up", "--target", "001_a"])).code).toBe(0);
    await suite.db.query(`truncate ${s}.confiture_migrations`);
    expect((await cli(["migrate", "status"])).code).toBe(3);
    const up = await cli(["migrate", "up"]);
    expect(up.code).toBe(3);
    expect(up.stderr).toContain("already holds 1 object(s): table a:");
    expect(await tables(s)).not.toContain("b");

    // One way forward the message names: record what is applied, then up runs the rest.
    expect((await cli(["migrate", "baseline", "--through", "001_a"])).code).toBe(0);
    expect((await cli(["migrate", "status"])).code).toBe(0);
    const rest = await cli(["migrate", "up"]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toMatch(/^applied 002_b/m);
  });

  it("--adopt-non-empty applies anyway; a migration whose object exists fails with advice about lost history", async () => {
    const s = "lost_adopt";
    await suite.db.query(`create schema ${s}`);
    await suite.db.query(`create table ${s}.legacy (id int)`);
    const cli = await setup(s, {
      "001_keep.up.sql": `create table if not exists ${s}.legacy (id int);\ncreate table ${s}.fresh (id int);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(3);
    const adopted = await cli(["migrate", "up", "--adopt-non-empty"]);
    expect(adopted.code, adopted.stderr).toBe(0);
    expect(adopted.stdout).toMatch(/^applied 001_keep/m);
    expect(await tables(s)).toContain("fresh");

    const t = "lost_exists";
    await suite.db.query(`create schema ${t}`);
    await suite.db.query(`create type ${t}.mood as enum ('ok')`);
    const again = await setup(t, { "001_mood.up.sql": `create type ${t}.mood as enum ('ok');\n` });
    const failed = await again(["migrate", "up", "--adopt-non-empty"]);
    expect(failed.code).toBe(1); // SPEC §10: a migration failed
    expect(failed.stderr).toContain("(42710)");
    expect(failed.stderr).toContain(
      "The history was empty when this run started and the object already exists: if these migrations were applied to this database before, its history was lost",
    );
    // The file is not the problem: the runner's usual "fix the file" advice is not given.
    expect(failed.stderr).not.toContain("fix the file");
    expect(failed.stderr).toContain('"confiture migrate sync-history"');
  });

  it("a schema holding only extension objects and Confiture's own tables is a new database", async () => {
    const s = "lost_extension";
    await suite.db.query(`create schema ${s}`);
    await suite.db.query(`create extension pg_trgm schema ${s}`);
    const cli = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    // init creates the (empty) history tables: still a new database.
    expect((await cli(["init"])).code).toBe(0);
    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).not.toContain("lost history");
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^applied 001_a/m);
  });

  it("history backups are Confiture's own even when their names were cut to 63 bytes; a user's *_backup table is not", async () => {
    const s = "lost_backups";
    const long = `history_${"x".repeat(50)}`; // 58 characters: its backup names are cut
    await suite.db.query(`create schema ${s}`);
    const cli = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` }, long);
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const init = await cli(["init", "--force"]);
    expect(init.code, init.stderr).toBe(0);
    const again = await cli(["init", "--force"]);
    expect(again.code, again.stderr).toBe(0);
    await suite.db.query(`create table ${s}.confiture_backup (id int)`);
    const status = await cli(["migrate", "status", "--format", "json"]);
    const doc = expectJson(status, 3, false);
    expect(doc.untrackedObjects).toEqual({
      count: 2,
      sample: [
        { kind: "table", name: "a" },
        { kind: "table", name: "confiture_backup" },
      ],
    });
  });

  it("a tracking table without Confiture's columns is named as such (exit 3), not a bare SQL error; init adds the columns", async () => {
    const s = "lost_handmade";
    await suite.db.query(`create schema ${s}`);
    const cli = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    await suite.db.query(`create table ${s}.confiture_migrations (version text primary key)`);
    await suite.db.query(`insert into ${s}.confiture_migrations values ('001_a')`);
    const status = await cli(["migrate", "status", "--format", "json"]);
    const doc = expectJson(status, 3, false);
    expect(doc.error?.code).toBe("HISTORY_TABLE_INVALID");
    expect(doc.error?.message).toContain(
      `the tracking table ${s}.confiture_migrations is not one Confiture can read`,
    );
    expect(doc.error?.message).toContain('"confiture init" adds the missing columns and keeps every row');
    const text = await cli(["migrate", "status"]);
    expect(text.stderr.trim().split("\n")).toHaveLength(1);
    expect(text.stderr).not.toContain("internal error");
    expect((await cli(["init"])).code).toBe(0);
    const after = await cli(["migrate", "status"]);
    expect(after.stdout).toMatch(/^001_a\s+checksum mismatch/m); // the row kept, its checksum unknown
  });
});
