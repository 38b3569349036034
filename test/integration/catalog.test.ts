/**
 * Introspection against real PostgreSQL: every object kind of the model read from the catalogs,
 * the states that matter after an incident (an INVALID index, a NOT VALID constraint, a disabled
 * trigger), and a fingerprint that two databases built by the same DDL in a different order
 * share, and that one changed default breaks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  diffSchemas,
  introspectSchema,
  type SchemaModel,
  schemaFingerprint,
} from "../../src/catalog/index.js";
import { withSession } from "../../src/db/with-session.js";
import { init, inspectSchema, loadConfig, migrateUp } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject } from "../support/project.js";

const OWN = { names: ["confiture_migrations", "confiture_events"], backupsOf: "confiture_migrations" };

// Each entry is one piece of DDL; the second database gets them in another order where allowed.
const TYPES = [
  "create type app.mood as enum ('sad', 'ok', 'happy')",
  "create domain app.email as text not null check (value like '%@%')",
  "create type app.pair as (a int, b text)",
  "create type app.floatrange as range (subtype = float8)",
];
const TABLES = [
  `create table app.users (
     id bigint generated always as identity primary key,
     email app.email unique,
     name varchar(40) not null default 'anon',
     mood app.mood,
     name_upper text generated always as (upper(name)) stored
   )`,
  `create table app.orders (
     id serial primary key,
     user_id bigint references app.users (id) on delete cascade deferrable initially deferred,
     total numeric(10, 2) check (total >= 0),
     during tstzrange,
     exclude using gist (during with &&)
   )`,
  "create table app.events (at date not null, what text) partition by range (at)",
  "create table app.events_2026 partition of app.events for values from ('2026-01-01') to ('2027-01-01')",
];
const REST = [
  "create index orders_big on app.orders (total) where total > 100",
  "create view app.big_orders as select id, total from app.orders where total > 100",
  "create materialized view app.order_count as select count(*) as n from app.orders",
  "create sequence app.tickets start 100 increment 5",
  "create function app.touch() returns trigger language plpgsql as $$ begin return new; end $$",
  "create procedure app.noop(n int) language sql as $$ select 1 $$",
  "create trigger orders_touch before update on app.orders for each row execute function app.touch()",
  // An extension's functions and types are its own: the extension is listed, its members are not.
  "create extension pg_trgm schema app",
  // Confiture's own table: never part of the model.
  "create table app.confiture_migrations (version text primary key)",
  "create table app.confiture_migrations_backup (version text primary key)",
];

let one: TestDatabase;
let two: TestDatabase;

const read = (db: TestDatabase): Promise<SchemaModel> =>
  withSession({ connectionString: db.url, applicationName: "confiture: test introspection" }, (session) =>
    introspectSchema(session, "app", OWN),
  );

async function build(db: TestDatabase, statements: string[]): Promise<void> {
  await db.query("create schema app");
  for (const sql of statements) await db.query(sql);
}

beforeAll(async () => {
  one = await createTestDatabase("catalog one");
  two = await createTestDatabase("catalog two");
  await build(one, [...TYPES, ...TABLES, ...REST]);
  // Same objects, types and the standalone objects in reverse order.
  await build(two, [
    ...[...TYPES].reverse(),
    ...TABLES,
    ...[...REST].reverse().filter((s) => !s.startsWith("create trigger")),
    REST.find((s) => s.startsWith("create trigger"))!,
  ]);
});
afterAll(async () => {
  await one?.drop();
  await two?.drop();
});

describe("introspectSchema", () => {
  it("reads every object kind of the model, and none of Confiture's own tables", async () => {
    const m = await read(one);
    expect(m.tables.map((t) => t.name)).toEqual(["events", "events_2026", "orders", "users"]);
    const users = m.tables.find((t) => t.name === "users")!;
    expect(users.columns).toEqual([
      {
        name: "id",
        type: "bigint",
        notNull: true,
        default: null,
        identity: "always",
        generated: null,
        collation: null,
      },
      {
        name: "email",
        type: "app.email",
        notNull: false,
        default: null,
        identity: null,
        generated: null,
        collation: null,
      },
      {
        name: "name",
        type: "character varying(40)",
        notNull: true,
        default: "'anon'::character varying",
        identity: null,
        generated: null,
        collation: null,
      },
      {
        name: "mood",
        type: "app.mood",
        notNull: false,
        default: null,
        identity: null,
        generated: null,
        collation: null,
      },
      {
        name: "name_upper",
        type: "text",
        notNull: false,
        default: null,
        identity: null,
        generated: "upper((name)::text)",
        collation: null,
      },
    ]);
    const orders = m.tables.find((t) => t.name === "orders")!;
    expect(orders.constraints.map((c) => [c.kind, c.definition])).toEqual([
      ["exclusion", "EXCLUDE USING gist (during WITH &&)"],
      ["primary key", "PRIMARY KEY (id)"],
      ["check", "CHECK ((total >= (0)::numeric))"],
      [
        "foreign key",
        "FOREIGN KEY (user_id) REFERENCES app.users(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
      ],
    ]);
    const fk = orders.constraints.find((c) => c.kind === "foreign key")!;
    expect(fk).toMatchObject({ deferrable: true, initiallyDeferred: true, validated: true });
    const partial = orders.indexes.find((i) => i.name === "orders_big")!;
    expect(partial).toMatchObject({
      valid: true,
      ready: true,
      unique: false,
      predicate: "(total > (100)::numeric)",
    });
    expect(orders.triggers).toEqual([
      {
        name: "orders_touch",
        definition:
          "CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch()",
        enabled: "origin",
      },
    ]);
    expect(m.tables.find((t) => t.name === "events_2026")).toMatchObject({
      partitionOf: "events",
      partitionBound: "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    });
    expect(m.tables.find((t) => t.name === "events")?.kind).toBe("partitioned table");
    expect(m.views.map((v) => [v.name, v.materialized])).toEqual([
      ["big_orders", false],
      ["order_count", true],
    ]);
    expect(m.sequences.map((s) => [s.name, s.ownedBy, s.start, s.increment])).toEqual([
      ["orders_id_seq", "orders.id", "1", "1"],
      ["tickets", null, "100", "5"],
      ["users_id_seq", "users.id", "1", "1"],
    ]);
    expect(m.functions.map((f) => [f.signature, f.kind])).toEqual([
      ["noop(IN n integer)", "procedure"],
      ["touch()", "function"],
    ]);
    expect(m.types).toEqual([
      { name: "email", kind: "domain", definition: "text NOT NULL CHECK ((VALUE ~~ '%@%'::text))" },
      { name: "floatrange", kind: "range", definition: "double precision" },
      { name: "mood", kind: "enum", definition: "'sad', 'ok', 'happy'" },
      { name: "pair", kind: "composite", definition: "a integer, b text" },
    ]);
    expect(m.extensions).toEqual([{ name: "pg_trgm", version: expect.any(String), schema: "app" }]);
    expect(m.unknown).toEqual([]);
    const all = JSON.stringify(m);
    expect(all).not.toContain("confiture_migrations");
  });

  it("two databases built by the same DDL in another order have the same fingerprint", async () => {
    const [a, b] = [await read(one), await read(two)];
    expect(b).toEqual(a);
    expect(schemaFingerprint(b)).toBe(schemaFingerprint(a));
    expect(schemaFingerprint(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("sees what an incident leaves behind, and each change moves the fingerprint", async () => {
    const db = await createTestDatabase("catalog incident");
    try {
      await build(db, [...TYPES, ...TABLES, ...REST]);
      const base = schemaFingerprint(await read(db));
      const changes: Array<[string, (m: SchemaModel) => unknown, unknown]> = [
        [
          "alter table app.users alter column name drop default",
          (m) => col(m, "users", "name").default,
          null,
        ],
        [
          "alter table app.orders disable trigger orders_touch",
          (m) => tbl(m, "orders").triggers[0]?.enabled,
          "disabled",
        ],
        [
          "alter table app.orders add constraint total_small check (total < 1000000) not valid",
          (m) => tbl(m, "orders").constraints.find((c) => c.name === "total_small")?.validated,
          false,
        ],
        [
          "alter type app.mood add value 'angry'",
          (m) => m.types.find((t) => t.name === "mood")?.definition,
          "'sad', 'ok', 'happy', 'angry'",
        ],
        [
          "create or replace view app.big_orders as select id, total from app.orders where total > 200",
          (m) => m.views.find((v) => v.name === "big_orders")?.definition.includes("200"),
          true,
        ],
      ];
      let previous = base;
      for (const [sql, pick, expected] of changes) {
        await db.query(sql);
        const model = await read(db);
        expect(pick(model), sql).toEqual(expected);
        const now = schemaFingerprint(model);
        expect(now, sql).not.toBe(previous);
        previous = now;
      }
      // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind (runs outside a transaction).
      await db.query("insert into app.orders (total) values (1), (1)");
      await expect(
        db.query("create unique index concurrently orders_total_u on app.orders (total)"),
      ).rejects.toThrow();
      const invalid = tbl(await read(db), "orders").indexes.find((i) => i.name === "orders_total_u");
      expect(invalid).toMatchObject({ valid: false, unique: true });
    } finally {
      await db.drop();
    }
  });
});

function tbl(m: SchemaModel, name: string) {
  const t = m.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
}
function col(m: SchemaModel, table: string, name: string) {
  const c = tbl(m, table).columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${table}.${name}`);
  return c;
}

describe("inspectSchema (library)", () => {
  it("reads the configured schema with Confiture's own tables left out; the fingerprint follows the schema", async () => {
    const db = await createTestDatabase("catalog library");
    const project = await makeProject({
      config: "schema: lib\n",
      migrations: {
        "001_a.up.sql": "create schema if not exists lib;\ncreate table lib.a (id int primary key);\n",
      },
    });
    try {
      await db.query("create schema lib");
      const config = await loadConfig({ cwd: project.dir, databaseUrl: db.url, env: {} });
      const empty = await inspectSchema(config);
      expect(empty.model.tables).toEqual([]);
      await init(config);
      await migrateUp(config);
      const after = await inspectSchema(config);
      expect(after.schema).toBe("lib");
      expect(after.model.tables.map((t) => t.name)).toEqual(["a"]);
      expect(after.model.sequences).toEqual([]); // confiture_events' id sequence is Confiture's
      expect(after.fingerprint).toBe(schemaFingerprint(after.model));
      expect(after.fingerprint).not.toBe(empty.fingerprint);
    } finally {
      await project.cleanup();
      await db.drop();
    }
  });
});

describe("diffSchemas", () => {
  it("reports each kind of drift an incident leaves, as missing, extra or changed, grouped by table", async () => {
    const expectedDb = await createTestDatabase("catalog expected");
    const liveDb = await createTestDatabase("catalog live");
    try {
      const wanted = [
        "create unique index orders_total_u on app.orders (total)",
        "alter table app.orders add constraint total_small check (total < 1000000)",
      ];
      await build(expectedDb, [...TYPES, ...TABLES, ...REST, ...wanted]);
      await build(liveDb, [...TYPES, ...TABLES, ...REST]);
      expect(diffSchemas(await read(expectedDb), await read(liveDb)).map((d) => [d.object, d.kind])).toEqual([
        ["constraint orders.total_small", "missing"],
        ["index orders_total_u", "missing"],
      ]);
      const drift = [
        "alter table app.users add column nickname text",
        "alter table app.users alter column mood type text",
        "alter table app.users alter column name drop default",
        "drop index app.orders_big",
        "alter table app.orders add constraint total_small check (total < 1000000) not valid",
        "create or replace function app.touch() returns trigger language plpgsql as $$ begin return old; end $$",
        "alter table app.orders disable trigger orders_touch",
        "alter type app.mood add value 'angry'",
        "create or replace view app.big_orders as select id, total from app.orders where total > 200",
        "insert into app.orders (total) values (1), (1)",
      ];
      for (const sql of drift) await liveDb.query(sql);
      // A failed CREATE INDEX CONCURRENTLY leaves the index behind, INVALID.
      await expect(
        liveDb.query("create unique index concurrently orders_total_u on app.orders (total)"),
      ).rejects.toThrow();

      const diffs = diffSchemas(await read(expectedDb), await read(liveDb));
      const rows = diffs.map((d) => [d.object, d.kind, d.property, d.expected, d.actual]);
      expect(rows).toEqual([
        ["constraint orders.total_small", "changed", "validated", "true", "false"],
        [
          "index orders_big",
          "missing",
          null,
          expect.stringContaining("WHERE (total > (100)::numeric)"),
          null,
        ],
        ["index orders_total_u", "changed", "valid", "true", "false"],
        ["index orders_total_u", "changed", "ready", "true", "false"],
        ["trigger orders.orders_touch", "changed", "enabled", "origin", "disabled"],
        ["column users.name", "changed", "default", "'anon'::character varying", null],
        ["column users.mood", "changed", "type", "app.mood", "text"],
        ["column users.nickname", "extra", null, null, "text"],
        [
          "view big_orders",
          "changed",
          "definition",
          expect.stringContaining("100"),
          expect.stringContaining("200"),
        ],
        [
          "function touch()",
          "changed",
          "definition",
          expect.stringContaining("return new"),
          expect.stringContaining("return old"),
        ],
        ["enum mood", "changed", "definition", "'sad', 'ok', 'happy'", "'sad', 'ok', 'happy', 'angry'"],
      ]);
      expect(diffs.filter((d) => d.table === "orders")).toHaveLength(5);
      // The same schema on both sides: no difference at all.
      expect(diffSchemas(await read(liveDb), await read(liveDb))).toEqual([]);
    } finally {
      await expectedDb.drop();
      await liveDb.drop();
    }
  });

  it("row-level security and its policies are in the model: switched off or a policy edited by hand is drift", async () => {
    const expectedDb = await createTestDatabase("catalog rls expected");
    const liveDb = await createTestDatabase("catalog rls live");
    try {
      const rls = [
        "create table app.docs (id int primary key, owner text not null)",
        "alter table app.docs enable row level security",
        "create policy own_docs on app.docs for select to public using (owner = current_user)",
        "create policy add_docs on app.docs as restrictive for insert to public with check (owner = current_user)",
      ];
      await build(expectedDb, rls);
      await build(liveDb, rls);
      const expected = await read(expectedDb);
      expect(expected.tables[0]).toMatchObject({
        rowSecurity: "on",
        policies: [
          {
            name: "add_docs",
            definition: "AS RESTRICTIVE FOR INSERT TO public WITH CHECK ((owner = CURRENT_USER))",
          },
          {
            name: "own_docs",
            definition: "AS PERMISSIVE FOR SELECT TO public USING ((owner = CURRENT_USER))",
          },
        ],
      });
      expect(diffSchemas(expected, await read(liveDb))).toEqual([]);
      await liveDb.query("alter table app.docs disable row level security");
      await liveDb.query("alter policy own_docs on app.docs using (true)");
      await liveDb.query("drop policy add_docs on app.docs");
      const rows = diffSchemas(expected, await read(liveDb)).map((d) => [
        d.object,
        d.kind,
        d.property,
        d.actual,
      ]);
      expect(rows).toEqual([
        ["table docs", "changed", "row level security", "off"],
        ["policy docs.add_docs", "missing", null, null],
        ["policy docs.own_docs", "changed", "definition", "AS PERMISSIVE FOR SELECT TO public USING (true)"],
      ]);
    } finally {
      await expectedDb.drop();
      await liveDb.drop();
    }
  });
});
