/**
 * `migrate drift-detect` through the CLI against a real server: the expected schema is built by
 * replaying the applied migrations (or db/schema/) into a scratch database, which is dropped
 * afterwards; every kind of hand change the issue lists is reported (object, kind, expected,
 * actual), grouped by table, exit 3; no drift is exit 0. Bad input: no CREATEDB, a --scratch-url
 * that is not empty or is the live database, a migration that no longer replays.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { urlForDatabase, urlWithPassword, withClient } from "../support/database.js";
import { expectJson, fileDatabase, withPassFileRole } from "../support/e2e.js";

const suite = fileDatabase("drift");

interface Difference {
  object: string;
  table: string | null;
  kind: "missing" | "extra" | "changed";
  property: string | null;
  expected: string | null;
  actual: string | null;
}

/** Every object kind the issue names, in one schema `s`. */
function migrations(s: string): Record<string, string> {
  return {
    "001_base.up.sql": `
create extension if not exists pg_trgm schema public;
create type ${s}.mood as enum ('ok', 'bad');
create domain ${s}.positive as int check (value > 0);
create type ${s}.pair as (a int, b text);
create sequence ${s}.tickets start 100;
create table ${s}.users (
  id int generated always as identity primary key,
  email text not null unique,
  name varchar(80),
  score numeric(8,2) default 0 check (score >= 0),
  lower_email text generated always as (lower(email)) stored,
  m ${s}.mood
);
create index users_name on ${s}.users (name);
create index users_score_partial on ${s}.users (score) where score > 10;
create table ${s}.orders (
  id serial primary key,
  user_id int not null references ${s}.users (id) on delete cascade deferrable initially deferred,
  qty ${s}.positive,
  code text
);
create index orders_code on ${s}.orders (code);
`,
    "002_logic.up.sql": `
create table ${s}.events (at date not null, v int) partition by range (at);
create table ${s}.events_2026 partition of ${s}.events for values from ('2026-01-01') to ('2027-01-01');
create view ${s}.big_orders as select id, qty from ${s}.orders where qty > 10;
create materialized view ${s}.order_counts as select user_id, count(*) as n from ${s}.orders group by user_id;
create function ${s}.touch() returns trigger language plpgsql as $$ begin return new; end $$;
create procedure ${s}.noop() language sql as $$ select 1 $$;
create trigger orders_touch before update on ${s}.orders for each row execute function ${s}.touch();
`,
  };
}

async function migrated(s: string) {
  await suite.db.query(`create schema ${s}`);
  const { p, cli } = await suite.project(s, migrations(s));
  const up = await cli(["migrate", "up"]);
  expect(up.code, up.stderr).toBe(0);
  return { p, cli };
}

const scratchExists = async (name: string) =>
  (
    await withClient(suite.db.adminUrl, (c) =>
      c.query("select 1 from pg_database where datname = $1", [name]),
    )
  ).rowCount === 1;

describe("migrate drift-detect", () => {
  it("finds no drift right after up (exit 0) and drops its scratch database", async () => {
    const { cli } = await migrated("drift_none");
    const r = await cli(["migrate", "drift-detect"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Schema drift_none in \S+ against 2 applied migration\(s\) \(001_base \.\. 002_logic\): no drift \(not compared: grants, ownership, comments, rules other than views, extended statistics\)\.$/m,
    );
    const doc = expectJson(await cli(["migrate", "drift-detect", "--format", "json"]), 0, true);
    expect(doc.drift).toBe(false);
    expect(doc.notes).toEqual([]);
    expect(doc.differences).toEqual([]);
    expect(doc.scratchDatabase).toMatch(/^confiture_scratch_\d{8}T\d{6}_[0-9a-f]{8}$/);
    expect(await scratchExists(doc.scratchDatabase as string)).toBe(false);
  });

  it("reports each hand change of the issue's list with expected and actual, grouped by table (exit 3)", async () => {
    const s = "drift_all";
    const { cli } = await migrated(s);
    await suite.db.query(`insert into ${s}.users (email, name) values ('a@x', 'dup'), ('b@x', 'dup')`);
    for (const sql of [
      `alter table ${s}.users add column nickname text`, // column added by hand
      `alter table ${s}.orders alter column code type varchar(20)`, // type changed
      `alter table ${s}.users alter column score drop default`, // default dropped
      `drop index ${s}.orders_code`, // index dropped
      `alter table ${s}.users drop constraint users_score_check`,
      `alter table ${s}.users add constraint users_score_check check (score >= 0) not valid`, // NOT VALID
      `create or replace function ${s}.touch() returns trigger language plpgsql as $$ begin new.code := 'x'; return new; end $$`, // body edited
      `alter table ${s}.orders disable trigger orders_touch`, // trigger disabled
      `alter type ${s}.mood add value 'meh'`, // enum value added
      `create or replace view ${s}.big_orders as select id, qty from ${s}.orders where qty > 20`, // view redefined
    ])
      await suite.db.query(sql);
    // An index left INVALID by a failed CREATE INDEX CONCURRENTLY (duplicates under a unique index).
    await expect(
      suite.db.query(`create unique index concurrently users_name_key on ${s}.users (name)`),
    ).rejects.toThrow(/could not create unique index/);

    const json = await cli(["migrate", "drift-detect", "--format", "json"]);
    const doc = expectJson(json, 3, "either");
    expect(doc.drift).toBe(true);
    const diffs = doc.differences as Difference[];
    const find = (object: string, kind: string, property: string | null = null) =>
      diffs.find((d) => d.object === object && d.kind === kind && d.property === property);

    expect(find(`column users.nickname`, "extra")).toMatchObject({
      table: "users",
      expected: null,
      actual: "text",
    });
    expect(find(`column orders.code`, "changed", "type")).toMatchObject({
      expected: "text",
      actual: "character varying(20)",
    });
    expect(find(`column users.score`, "changed", "default")).toMatchObject({ expected: "0", actual: null });
    expect(find(`index orders_code`, "missing")).toMatchObject({ table: "orders", actual: null });
    expect(find(`index orders_code`, "missing")?.expected).toContain("CREATE INDEX orders_code");
    expect(find(`index users_name_key`, "extra")?.actual).toMatch(
      /UNIQUE INDEX users_name_key.*INVALID|INVALID.*users_name_key/i,
    );
    expect(find(`constraint users.users_score_check`, "changed", "validated")).toMatchObject({
      expected: "true",
      actual: "false",
    });
    const fn = diffs.find((d) => d.object.startsWith("function touch(") && d.kind === "changed");
    expect(fn?.expected).toContain("return new");
    expect(fn?.actual).toContain("new.code := 'x'");
    expect(find(`trigger orders.orders_touch`, "changed", "enabled")).toMatchObject({
      expected: "origin",
      actual: "disabled",
    });
    expect(diffs.find((d) => d.object === "enum mood")).toMatchObject({ kind: "changed" });
    expect(diffs.find((d) => d.object === "enum mood")?.actual).toContain("'meh'");
    expect(diffs.find((d) => d.object === "view big_orders")?.actual).toContain("20");
    // Ten changes, each reported once (the NOT VALID constraint is not also a definition change).
    expect(diffs).toHaveLength(10);
    expect(doc.counts).toEqual({ missing: 1, extra: 2, changed: 7 });

    const text = await cli(["migrate", "drift-detect"]);
    expect(text.code).toBe(3);
    const lines = text.stdout.split("\n");
    const orders = lines.indexOf("table orders");
    const users = lines.indexOf("table users");
    expect(orders).toBeGreaterThan(0);
    expect(users).toBeGreaterThan(orders);
    expect(lines.slice(orders + 1, users).join("\n")).toContain("missing  index orders_code");
    expect(lines.slice(users + 1).join("\n")).toContain("extra  column users.nickname  live: text");
    expect(text.stdout).toContain("changed  trigger orders.orders_touch  enabled: origin -> disabled");
    expect(text.stdout).toMatch(/^10 difference\(s\): 1 missing, 2 extra, 7 changed$/m);
    expect(text.stderr).not.toContain("error");
  });

  it("--against schema builds the expected schema from db/schema/", async () => {
    const s = "drift_decl";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, {
      "001_t.up.sql": `create table ${s}.t (id int primary key, a text);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const none = await cli(["migrate", "drift-detect", "--against", "schema"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: --against schema: .*db\/schema holds no \.sql file/);
    await p.write("db/schema/10_t.sql", `create table ${s}.t (id int primary key, a text);\n`);
    const same = await cli(["migrate", "drift-detect", "--against", "schema"]);
    expect(same.code, same.stdout).toBe(0);
    await p.write("db/schema/20_more.sql", `alter table ${s}.t add column b int;\n`);
    const drift = await cli(["migrate", "drift-detect", "--against", "schema"]);
    expect(drift.code).toBe(3);
    expect(drift.stdout).toContain("against 2 file(s) in db/schema");
    expect(drift.stdout).toContain("missing  column t.b");
    await p.write("db/schema/30_broken.sql", "create table oops (\n");
    const broken = await cli(["migrate", "drift-detect", "--against", "schema"]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^error: db\/schema\/30_broken\.sql:\d+: syntax error/);
    const bad = await cli(["migrate", "drift-detect", "--against", "files"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--against must be "migrations" or "schema"');
  });

  it("a migration that no longer replays: exit 1 naming file and line; the scratch database is dropped", async () => {
    const s = "drift_replay";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, { "001_t.up.sql": `create table ${s}.t (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write(
      "db/migrations/001_t.up.sql",
      `create table ${s}.t (id int);\n\nselect * from ${s}.nowhere;\n`,
    );
    const r = await cli(["migrate", "drift-detect", "--format", "json"]);
    const doc = expectJson(r, 1, false);
    expect(doc.error?.code).toBe("REPLAY_FAILED");
    expect(doc.error?.message).toContain(`001_t failed when replayed into the scratch database (`);
    expect(doc.error?.message).toContain(`001_t.up.sql:3): relation "${s}.nowhere" does not exist (42P01)`);
    const name = (doc.error?.details as { scratchDatabase: string } | undefined)?.scratchDatabase ?? "";
    expect(name).toMatch(/^confiture_scratch_/);
    expect(await scratchExists(name)).toBe(false);
    const text = await cli(["migrate", "drift-detect"]);
    expect(text.code).toBe(1);
    expect(text.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("without CREATEDB: one line naming --scratch-url (exit 2); with --scratch-url it works and leaves that database empty", async () => {
    const s = "drift_nocreatedb";
    const role = `drift_${randomBytes(4).toString("hex")}`;
    const password = "s3cret-drift-pass";
    const scratchName = `${suite.db.name}_scratch`;
    await withClient(suite.db.adminUrl, async (c) => {
      await c.query(`create role ${role} login password '${password}'`);
      await c.query(`create database ${scratchName} owner ${role} template template0`);
    });
    try {
      await suite.db.query(`create schema ${s} authorization ${role}`);
      const { cli } = await suite.project(s, {
        "001_t.up.sql": `create table ${s}.t (id int primary key);\n`,
      });
      const env = {
        DATABASE_URL: urlWithPassword(urlForDatabase(suite.db.url, suite.db.name), password).replace(
          /\/\/[^:]+:/,
          `//${role}:`,
        ),
      };
      expect((await cli(["migrate", "up"], env)).code).toBe(0);
      const refused = await cli(["migrate", "drift-detect"], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^error: cannot create a scratch database on \\S+ to build the expected schema: role "${role}" may not create databases \\(it lacks CREATEDB\\)\\. Pass --scratch-url`,
        ),
      );
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(refused.stderr + refused.stdout).not.toContain(password);

      const scratchUrl = urlWithPassword(urlForDatabase(suite.db.url, scratchName), password).replace(
        /\/\/[^:]+:/,
        `//${role}:`,
      );
      const ok = await cli(["migrate", "drift-detect", "--scratch-url", scratchUrl], env);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain("no drift");
      expect(ok.stderr + ok.stdout).not.toContain(password);
      const left = await withClient(urlForDatabase(suite.db.url, scratchName), (c) =>
        c.query("select nspname from pg_namespace where nspname = $1", [s]),
      );
      expect(left.rowCount).toBe(0); // the schema the replay created is gone again

      // Objects outside the managed schema are not in the way, and are left alone.
      await withClient(urlForDatabase(suite.db.url, scratchName), (c) =>
        c.query("create table public.keep (id int)"),
      );
      const again = await cli(["migrate", "drift-detect", "--scratch-url", scratchUrl], env);
      expect(again.code, again.stderr).toBe(0);
      const kept = await withClient(urlForDatabase(suite.db.url, scratchName), (c) =>
        c.query("select 1 from pg_class where relname = 'keep'"),
      );
      expect(kept.rowCount).toBe(1);

      // The live database itself: refused before anything is touched.
      const self = await cli(["migrate", "drift-detect", "--scratch-url", env.DATABASE_URL], env);
      expect(self.code).toBe(2);
      expect(self.stderr).toContain("--scratch-url names the configured database");
      expect((await suite.db.query(`select 1 from ${s}.t limit 0`)).rowCount).toBe(0);
    } finally {
      await withClient(suite.db.adminUrl, async (c) => {
        await c.query(`drop database if exists ${scratchName} with (force)`);
        await c.query(`drop schema if exists ${s} cascade`).catch(() => {});
      });
      await suite.db.query(`drop schema if exists ${s} cascade`);
      await withClient(suite.db.adminUrl, (c) => c.query(`drop role if exists ${role}`));
    }
  });

  it("--scratch-url whose managed schema holds objects is refused and left alone", async () => {
    const s = "drift_fullscratch";
    const scratchName = `${suite.db.name}_full`;
    await withClient(suite.db.adminUrl, (c) => c.query(`create database ${scratchName} template template0`));
    try {
      const scratchUrl = urlForDatabase(suite.db.url, scratchName);
      await withClient(scratchUrl, async (c) => {
        await c.query(`create schema ${s}`);
        await c.query(`create table ${s}.precious (id int)`);
      });
      const { cli } = await migrated(s);
      const r = await cli(["migrate", "drift-detect", "--scratch-url", scratchUrl]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /is not empty: schema drift_fullscratch holds 1 object\(s\), e\.g\. table precious\. Give --scratch-url an empty database/,
      );
      const kept = await withClient(scratchUrl, (c) => c.query(`select 1 from ${s}.precious limit 0`));
      expect(kept.rowCount).toBe(0);

      // An extension is not empty either: it would be part of the expected schema.
      await withClient(scratchUrl, async (c) => {
        await c.query(`drop schema ${s} cascade`);
        await c.query("create extension pg_trgm");
      });
      const ext = await cli(["migrate", "drift-detect", "--scratch-url", scratchUrl]);
      expect(ext.code).toBe(2);
      expect(ext.stderr).toContain("is not empty: it has extension(s) pg_trgm");
      const still = await withClient(scratchUrl, (c) =>
        c.query("select 1 from pg_extension where extname = 'pg_trgm'"),
      );
      expect(still.rowCount).toBe(1);

      for (const url of ["not a url", "", "postgres://x:pw@127.0.0.1:5432:bad/x"]) {
        const r2 = await cli(["migrate", "drift-detect", "--scratch-url", url]);
        expect(r2.code, r2.stderr).toBe(2);
        expect(r2.stderr).toMatch(/^error: --scratch-url is not a valid postgres:\/\/ URL/);
      }
    } finally {
      await withClient(suite.db.adminUrl, (c) =>
        c.query(`drop database if exists ${scratchName} with (force)`),
      );
    }
  });

  it("a password file line for the configured database also logs in to the scratch database", async () => {
    const s = "drift_passfile";
    await withPassFileRole(
      suite,
      s,
      "createdb",
      { "001_t.up.sql": `create table ${s}.t (id int primary key);\n` },
      async ({ cli, env }) => {
        expect((await cli(["migrate", "up"], env)).code).toBe(0);
        const r = await cli(["migrate", "drift-detect"], env);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain("no drift");
      },
    );
  });

  it("says so when the migration lock is held: the live schema may be read half-way through a migration", async () => {
    const s = "drift_locked";
    const { cli } = await migrated(s);
    const holder = new pg.Client({ connectionString: suite.db.url, application_name: "deploy in progress" });
    holder.on("error", () => {});
    await holder.connect();
    try {
      const key = migrationLockKey(s, "confiture_migrations");
      await holder.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);
      const r = await cli(["migrate", "drift-detect"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /^a migration may be running, so the live schema may be read half-way through it: the migration lock is held \(pid \d+, .*"deploy in progress"/m,
      );
    } finally {
      await holder.end();
    }
  });
});
