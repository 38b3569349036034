/**
 * `confiture restore`: the runbook's Scenario 2 option B (full restore into a fresh database,
 * then `migrate up --verify-checksums` applies what is newer than the backup) and Scenario 5
 * option B (someone ran DELETE without WHERE: bring back exactly the missing rows).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { urlForDatabase, withClient } from "../support/database.js";
import { expectJson, fileDatabase } from "../support/e2e.js";

const suite = fileDatabase("restore");

/** A custom-format dump of the file's database, made with pg_dump (password through the environment). */
async function dump(path: string): Promise<void> {
  const u = new URL(suite.db.url);
  await promisify(execFile)("pg_dump", ["--format=custom", "--no-password", `--file=${path}`], {
    env: {
      ...process.env,
      PGHOST: u.hostname,
      PGPORT: u.port,
      PGUSER: decodeURIComponent(u.username),
      PGPASSWORD: decodeURIComponent(u.password),
      PGDATABASE: suite.db.name,
    },
  });
}

const admin = (sql: string) => withClient(suite.db.adminUrl, (c) => c.query(sql));

async function q<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  return withClient(url, async (c) => (await c.query<R>(sql)).rows);
}

describe("restore --target-db (runbook scenario 2, option B)", () => {
  it("restores into a new database, lists the newer migration, and migrate up + drift-detect finish the job", async () => {
    const s = "rst_full";
    const { p, cli } = await suite.project(s, {
      "001_users.up.sql": `create table ${s}.users (id serial primary key, name text not null);\ninsert into ${s}.users (name) values ('ann'), ('bob');\n`,
    });
    await suite.db.query(`create schema ${s}`);
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const file = p.path("app.dump");
    await dump(file);
    await p.write("db/migrations/002_email.up.sql", `alter table ${s}.users add column email text;\n`);

    const target = `${suite.db.name}_r`;
    const targetUrl = urlForDatabase(suite.db.adminUrl, target);
    await admin(`drop database if exists "${target}"`);

    // Without --create, the target must exist.
    const missing = await cli(["restore", file, "--target-db", target]);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain(`database ${target} does not exist`);
    expect(missing.stderr).toContain("--create");

    const r = await cli(["restore", file, "--target-db", target, "--create"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored ${file} into ${target} (created)`);
    expect(r.stdout).toContain("Restored history: 1 migration(s) applied, head 001_users.");
    expect(r.stdout).toMatch(/would apply 1 migration\(s\) newer than the backup:\n {2}002_email\n/);
    expect(r.stdout).toContain(`DATABASE_URL='postgres://`);
    expect(r.stdout).toContain(`/${target}' confiture migrate up --verify-checksums`);
    expect(r.stdout).toContain("confiture migrate drift-detect");
    expect(r.stdout).toContain(":***@");
    expect(await q(targetUrl, `select name from ${s}.users order by id`)).toEqual([
      { name: "ann" },
      { name: "bob" },
    ]);
    const events = await q<{ n: number }>(
      targetUrl,
      `select count(*)::int as n from ${s}.confiture_events where command = 'restore' and outcome = 'success'`,
    );
    expect(events[0]!.n).toBe(1);

    const up = await cli(["migrate", "up", "--verify-checksums"], { DATABASE_URL: targetUrl });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("applied 002_email");
    const drift = await cli(["migrate", "drift-detect"], { DATABASE_URL: targetUrl });
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);

    // Now the target is not empty: refused, naming what is there, and nothing changes.
    const refused = await cli(["restore", file, "--target-db", target]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/database \S+ is not empty: it holds \d+ object\(s\): table rst_full\./);
    expect(refused.stderr).toContain("--force");
    const cols = `select count(*)::int as n from information_schema.columns where table_schema = '${s}' and table_name = 'users' and column_name = 'email'`;
    expect((await q<{ n: number }>(targetUrl, cols))[0]!.n).toBe(1);

    // Another session on the target: one line, not a pg_restore error.
    const holder = new pg.Client({ connectionString: targetUrl });
    await holder.connect();
    try {
      const busy = await cli(["restore", file, "--target-db", target, "--force"]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`database ${target} is in use by 1 other session(s)`);
      expect(busy.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      await holder.end();
    }

    // The configured database itself: refused even with --force (consent is not "overwrite production").
    const self = await cli(["restore", file, "--target-db", suite.db.name, "--force"]);
    expect(self.code).toBe(2);
    expect(self.stderr).toContain(`--target-db ${suite.db.name} is the configured database itself`);

    // --force restores on top: the backup's users (no email column), its history (001 only).
    const forced = await cli(["restore", file, "--target-db", target, "--force", "--format", "json"]);
    const doc = expectJson(forced, 0, true);
    expect(doc.restoredOnTop).toBe(true);
    expect(doc.pending).toEqual(["002_email"]);
    expect((await q<{ n: number }>(targetUrl, cols))[0]!.n).toBe(0);
    await admin(`drop database "${target}" with (force)`);
  });
});

describe("restore --table (runbook scenario 5, option B)", () => {
  it("missing-rows brings back exactly the deleted rows; dry run, no-pk refusal, replace and append", async () => {
    const s = "rst_tbl";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(
      s,
      {
        "001_items.up.sql":
          `create table ${s}.items (id int primary key, name text not null, qty int);\n` +
          `insert into ${s}.items select g, 'item' || g, g * 10 from generate_series(1, 2500) g;\n` +
          `create table ${s}.child (id int primary key, item_id int references ${s}.items (id));\n` +
          `create table ${s}.nopk (a int);\ninsert into ${s}.nopk values (1), (2);\n`,
      },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: confiture.yaml's own ${VAR} syntax
      "environments:\n  production:\n    database_url: ${DATABASE_URL}\n    protected: true\n",
    );
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const file = p.path("app.dump");
    await dump(file);

    // Someone ran a DELETE without (much of a) WHERE, and a row changed since the backup.
    await suite.db.query(`delete from ${s}.items where id between 3 and 1202`);
    await suite.db.query(`update ${s}.items set name = 'changed' where id = 2`);
    const snapshot = () =>
      suite.db.query(`select id, name, qty from ${s}.items order by id`).then((r) => r.rows);
    const before = await snapshot();

    const dry = await cli(["restore", file, "--table", "items", "--mode", "missing-rows", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      "rows in backup: 2500, inserted: 1200, deleted: 0, skipped as present: 1300",
    );
    expect(dry.stdout).toContain("nothing was changed");
    expect(await snapshot()).toEqual(before);

    // A protected environment needs --force (no TTY here): refused before anything changes.
    const prot = await cli(["--env", "production", "restore", file, "--table", "items"]);
    expect(prot.code).toBe(2);
    expect(prot.stderr).toContain("is protected");
    expect(await snapshot()).toEqual(before);

    const r = await cli(["restore", file, "--table", "items", "--mode", "missing-rows"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("rows in backup: 2500, inserted: 1200, deleted: 0, skipped as present: 1300");
    const after = await snapshot();
    expect(after).toHaveLength(2500);
    expect(after.find((x) => x.id === 2)).toEqual({ id: 2, name: "changed", qty: 20 });
    expect(after.find((x) => x.id === 700)).toEqual({ id: 700, name: "item700", qty: 7000 });
    const ev = await suite.db.query(
      `select details from ${s}.confiture_events where command = 'restore' order by id desc limit 1`,
    );
    expect(ev.rows[0]?.details).toMatchObject({ table: `${s}.items`, mode: "missing-rows", inserted: 1200 });

    const nopk = await cli(["restore", file, "--table", "nopk", "--mode", "missing-rows"]);
    expect(nopk.code).toBe(2);
    expect(nopk.stderr).toContain(`table ${s}.nopk has none`);
    expect(nopk.stderr.trim().split("\n")).toHaveLength(1);

    const append = await cli(["restore", file, "--table", "nopk", "--mode", "append"]);
    expect(append.code, append.stderr).toBe(0);
    expect(append.stdout).toContain("rows in backup: 2, inserted: 2, deleted: 0, skipped as present: 0");
    expect((await suite.db.query(`select count(*)::int as n from ${s}.nopk`)).rows[0]?.n).toBe(4);

    // replace never cascades: a child row referencing an item blocks it, and nothing changes.
    await suite.db.query(`insert into ${s}.child values (1, 2)`);
    const blocked = await cli(["restore", file, "--table", "items", "--mode", "replace"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("still reference them");
    expect((await snapshot()).find((x) => x.id === 2)?.name).toBe("changed");
    await suite.db.query(`delete from ${s}.child`);
    const replace = await cli(["restore", file, "--table", `${s}.items`, "--mode", "replace"]);
    expect(replace.code, replace.stderr).toBe(0);
    expect(replace.stdout).toContain(
      "rows in backup: 2500, inserted: 2500, deleted: 2500, skipped as present: 0",
    );
    expect((await snapshot()).find((x) => x.id === 2)?.name).toBe("item2");
  });

  it("after TRUNCATE ... RESTART IDENTITY, the restored rows keep their keys and the sequences move past them", async () => {
    const s = "rst_seq";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, {
      "001_customers.up.sql":
        `create table ${s}.customers (id int generated always as identity primary key, name text);\n` +
        `insert into ${s}.customers (name) select 'c' || g from generate_series(1, 300) g;\n` +
        `create table ${s}.orders (id int primary key, customer_id int not null references ${s}.customers (id));\n` +
        `insert into ${s}.orders select g, g from generate_series(1, 50) g;\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const file = p.path("seq.dump");
    await dump(file);
    await suite.db.query(`truncate ${s}.customers, ${s}.orders restart identity`);
    // The children first: their parents are not back yet. One line, nothing changed.
    const early = await cli(["restore", file, "--table", "orders", "--mode", "missing-rows"]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /^error: the restored rows of rst_seq\.orders reference rows that are not there \(foreign key orders_customer_id_fkey\): restore the referenced table first/,
    );
    expect((await suite.db.query(`select count(*)::int as n from ${s}.orders`)).rows[0]).toEqual({ n: 0 });
    const r = await cli(["restore", file, "--table", "customers", "--mode", "missing-rows"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`sequence(s) moved past the restored keys: ${s}.customers_id_seq`);
    // The application's next insert gets a new key instead of a duplicate-key error.
    const next = await suite.db.query<{ id: number }>(
      `insert into ${s}.customers (name) values ('new') returning id`,
    );
    expect(next.rows[0]!.id).toBe(301);
    const children = await cli(["restore", file, "--table", "orders", "--mode", "missing-rows"]);
    expect(children.code, children.stderr).toBe(0);
    expect(children.stdout).toContain("inserted: 50");
  });
});
