/**
 * `migrate sync-history [--dry-run]` (runbook Scenario 4) through the CLI: migrations are replayed
 * one by one into a scratch database and compared with the live schema by fingerprint; the
 * longest exact match is recorded as `reconstructed` with the files' checksums. Right when the
 * tracking table was dropped, truncated, or recreated by `init --force`; when the live schema has
 * drift, the closest match and its differences are reported and nothing is recorded. The
 * runbook's whole sequence runs end to end.
 */
import { describe, expect, it } from "vitest";
import { expectedChecksum, expectJson, fileDatabase } from "../support/e2e.js";

const suite = fileDatabase("sync history");

const files = (s: string): Record<string, string> => ({
  "001_users.up.sql": `create table ${s}.users (id int generated always as identity primary key, email text not null);\n`,
  "002_orders.up.sql": `create table ${s}.orders (id serial primary key, user_id int references ${s}.users (id));\ncreate index orders_user on ${s}.orders (user_id);\n`,
  "003_email_unique.up.sql": `alter table ${s}.users add constraint users_email_key unique (email);\n`,
});

async function setup(s: string, migrations = files(s)) {
  await suite.db.query(`create schema ${s}`);
  return suite.project(s, migrations);
}

const rows = async (s: string, table = "confiture_migrations") =>
  (
    await suite.db.query<{ version: string; status: string; checksum: string }>(
      `select version, status, checksum from ${s}.${table} order by version`,
    )
  ).rows;

const tableExists = async (s: string, t: string) =>
  (
    await suite.db.query(
      "select 1 from information_schema.tables where table_schema = $1 and table_name = $2",
      [s, t],
    )
  ).rowCount === 1;

describe("migrate sync-history", () => {
  it("after the tracking table was dropped: --dry-run reports and records nothing; the run records reconstructed rows", async () => {
    const s = "sync_dropped";
    const { p, cli } = await setup(s);
    expect((await cli(["migrate", "up", "--target", "002_orders"])).code).toBe(0);
    await suite.db.query(`drop table ${s}.confiture_migrations`);

    const dry = await cli(["migrate", "sync-history", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^001_users\s+present$/m);
    expect(dry.stdout).toMatch(/^002_orders\s+present$/m);
    expect(dry.stdout).toMatch(/^003_email_unique\s+absent \(pending\)$/m);
    expect(dry.stdout).toContain(
      "Dry run: would record 2 migration(s) through 002_orders as reconstructed. Nothing was changed.",
    );
    expect(await tableExists(s, "confiture_migrations")).toBe(false);

    const doc = expectJson(await cli(["migrate", "sync-history", "--format", "json"]), 0, true);
    expect(doc).toMatchObject({
      match: "exact",
      through: "002_orders",
      recorded: ["001_users", "002_orders"],
      dryRun: false,
    });
    const recorded = await rows(s);
    expect(recorded.map((r) => [r.version, r.status])).toEqual([
      ["001_users", "reconstructed"],
      ["002_orders", "reconstructed"],
    ]);
    expect(recorded[0]!.checksum).toBe(expectedChecksum(files(s)["001_users.up.sql"]!));

    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/^001_users\s+reconstructed/m);
    expect(status.stdout).toMatch(/^003_email_unique\s+pending/m);
    // The audit log says who rebuilt it.
    const events = await suite.db.query<{ command: string; details: { recorded: string[] } }>(
      `select command, details from ${s}.confiture_events where command = 'migrate sync-history'`,
    );
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]!.details.recorded).toEqual(["001_users", "002_orders"]);
    // And up continues where the schema is.
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^applied 003_email_unique/m);
    void p;
  });

  it("after the tracking table was truncated: every migration found; a second run is refused (history not empty)", async () => {
    const s = "sync_truncated";
    const { cli } = await setup(s);
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await suite.db.query(`truncate ${s}.confiture_migrations`);
    const r = await cli(["migrate", "sync-history"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Recorded 3 migration(s) through 003_email_unique as reconstructed.");
    expect((await rows(s)).map((x) => x.version)).toEqual(["001_users", "002_orders", "003_email_unique"]);

    const again = await cli(["migrate", "sync-history"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /^error: the history \(sync_truncated\.confiture_migrations\) holds 3 row\(s\); sync-history only rebuilds a lost/,
    );
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("with drift in the live schema: reports the closest match and the differences, records nothing (exit 3)", async () => {
    const s = "sync_drift";
    const { cli } = await setup(s);
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await suite.db.query(`truncate ${s}.confiture_migrations`);
    await suite.db.query(`alter table ${s}.users add column nickname text`);
    const r = await cli(["migrate", "sync-history"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      "No run of migrations matches the live schema exactly. Closest: through 003_email_unique",
    );
    expect(r.stdout).toContain("extra  column users.nickname");
    expect(r.stdout).toContain(
      'Nothing was recorded: resolve the drift, or record what you know with "confiture migrate baseline --through ID".',
    );
    expect(await rows(s)).toEqual([]);
    const doc = expectJson(await cli(["migrate", "sync-history", "--format", "json"]), 3, "either");
    expect(doc).toMatchObject({ match: "closest", through: "003_email_unique", recorded: [] });
    expect(doc.differences).toEqual([
      expect.objectContaining({ object: "column users.nickname", kind: "extra" }),
    ]);
  });

  it("a data-only migration at the end is not recorded: the schema cannot tell whether it ran (exit 3)", async () => {
    const s = "sync_data";
    const { cli } = await setup(s, {
      ...files(s),
      "004_seed.up.sql": `insert into ${s}.users (email) values ('a@example.com');\n`,
    });
    expect((await cli(["migrate", "up", "--target", "003_email_unique"])).code).toBe(0);
    await suite.db.query(`drop table ${s}.confiture_migrations`);
    const dry = await cli(["migrate", "sync-history", "--dry-run"]);
    expect(dry.code).toBe(3);
    expect(dry.stdout).toMatch(/^004_seed\s+unconfirmed \(changes no schema object; left pending\)$/m);
    expect(dry.stdout).toContain(
      "Dry run: would record 3 migration(s) through 003_email_unique as reconstructed.",
    );
    const r = await cli(["migrate", "sync-history"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("Recorded 3 migration(s) through 003_email_unique as reconstructed.");
    expect(r.stdout).toContain(
      '004_seed change(s) nothing the schema shows, so whether it ran (e.g. a data change) cannot be told from the schema: it was left pending. If it ran, record it with "confiture migrate baseline --through 004_seed"; if not, "confiture migrate up" runs it.',
    );
    expect((await rows(s)).map((x) => x.version)).toEqual(["001_users", "002_orders", "003_email_unique"]);
    // The person decides: here it never ran, so up runs it and the row arrives.
    const up = await cli(["migrate", "up"]);
    expect(up.code, up.stderr).toBe(0);
    expect((await suite.db.query(`select count(*)::int as n from ${s}.users`)).rows[0]).toEqual({ n: 1 });
  });

  it("runs the runbook's Scenario 4 end to end: back up, init --force, sync-history, status, drift-detect, verify-checksums", async () => {
    const s = "public";
    const { cli } = await suite.project(s, files(s));
    expect((await cli(["migrate", "up"])).code).toBe(0);
    // Corrupted history: rows lost.
    await suite.db.query("delete from confiture_migrations where version <> '002_orders'");
    // Step 1: back up current state, as the runbook writes it.
    await suite.db.query("CREATE TABLE confiture_migrations_backup AS SELECT * FROM confiture_migrations");
    // Step 2: reinitialise.
    const init = await cli(["init", "--force"]);
    expect(init.code, init.stderr).toBe(0);
    expect(await rows(s)).toEqual([]);
    expect(
      (await suite.db.query<{ n: number }>("select count(*)::int as n from confiture_migrations_backup"))
        .rows[0]?.n,
    ).toBe(1);
    // Step 3: sync with the current schema.
    const sync = await cli(["migrate", "sync-history"]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect((await rows(s)).map((r) => r.status)).toEqual(["reconstructed", "reconstructed", "reconstructed"]);
    // Step 4: verify.
    const status = await cli(["migrate", "status"]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain("3 reconstructed");
    const drift = await cli(["migrate", "drift-detect"]);
    expect(drift.code, drift.stdout).toBe(0);
    expect(drift.stdout).toContain("no drift");
    const checksums = await cli(["migrate", "verify-checksums"]);
    expect(checksums.code, checksums.stdout + checksums.stderr).toBe(0);
  });
});
