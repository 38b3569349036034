/**
 * Generated projects for the schema benchmark (bench/schema.mjs), in confiture's file format
 * (`db/migrations/<version>_<name>.up.sql`, no down files):
 *
 * - `writeWideSchema`: `tables` tables (default 2,000) in files of `perFile` tables (default 100),
 *   each table 20 columns (a bigint identity primary key and 19 of mixed types, some NOT NULL, some
 *   with defaults), 2 secondary indexes and 1 foreign key to the previous table (the first table's
 *   points at itself).
 * - `writeSyncHistory`: `count` (default 300) small migrations, in turn: create a table, add a
 *   column to it, index that column.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const pad = (n, width) => String(n).padStart(width, "0");
/** `t_0042`: four digits keep 2,000 tables in name order. */
export const wideTable = (n) => `t_${pad(n, 4)}`;

/** The 19 columns after `id`; `parent_id` carries the foreign key. */
function columns(parent) {
  return [
    `parent_id bigint REFERENCES ${parent} (id)`,
    "code varchar(32) NOT NULL",
    "name text NOT NULL",
    "description text",
    "status smallint NOT NULL DEFAULT 0",
    "amount numeric(12,2) NOT NULL DEFAULT 0",
    "quantity integer",
    "ratio double precision",
    "active boolean NOT NULL DEFAULT true",
    "created_at timestamptz NOT NULL DEFAULT now()",
    "updated_at timestamptz",
    "due_date date",
    "external_id uuid",
    "payload jsonb",
    "tags text[] NOT NULL DEFAULT '{}'",
    "price_cents bigint DEFAULT 0",
    "score real",
    "note varchar(200) DEFAULT ''",
    "checksum bytea",
  ];
}

/** One table of the wide schema: CREATE TABLE with its FK, and its two secondary indexes. */
export function wideTableSql(n) {
  const t = wideTable(n);
  const parent = wideTable(Math.max(n - 1, 1));
  const cols = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", ...columns(parent)];
  return (
    `CREATE TABLE ${t} (\n  ${cols.join(",\n  ")}\n);\n` +
    `CREATE INDEX ${t}_code_idx ON ${t} (code);\n` +
    `CREATE INDEX ${t}_parent_created_idx ON ${t} (parent_id, created_at);\n`
  );
}

/** What the wide schema holds, for the checks after seeding: per table 1 PK + 2 indexes, 1 FK. */
export const wideCounts = (tables) => ({ tables, columns: tables * 20, indexes: tables * 3, fks: tables });

/** Write the wide schema's migrations into `<dir>/db/migrations`; returns how many files. */
export function writeWideSchema(dir, { tables = 2000, perFile = 100 } = {}) {
  const migrations = join(dir, "db/migrations");
  mkdirSync(migrations, { recursive: true });
  let files = 0;
  for (let first = 1; first <= tables; first += perFile) {
    const last = Math.min(first + perFile - 1, tables);
    const parts = [];
    for (let n = first; n <= last; n++) parts.push(wideTableSql(n));
    files++;
    const id = `${pad(files, 5)}_tables_${pad(first, 4)}_${pad(last, 4)}`;
    writeFileSync(join(migrations, `${id}.up.sql`), parts.join("\n"));
  }
  return files;
}

/** Migration `k` (1-based) of the sync-history set: create, add a column, index it, in turn. */
export function syncMigration(k) {
  const j = Math.ceil(k / 3);
  const t = `s_${pad(j, 3)}`;
  switch (k % 3) {
    case 1:
      return { name: `create_${t}`, sql: `CREATE TABLE ${t} (id bigint PRIMARY KEY, name text NOT NULL);\n` };
    case 2:
      return {
        name: `add_${t}_created_at`,
        sql: `ALTER TABLE ${t} ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\n`,
      };
    default:
      return {
        name: `index_${t}_created_at`,
        sql: `CREATE INDEX ${t}_created_at_idx ON ${t} (created_at);\n`,
      };
  }
}

/** Write `count` sync-history migrations into `<dir>/db/migrations`. */
export function writeSyncHistory(dir, count = 300) {
  const migrations = join(dir, "db/migrations");
  mkdirSync(migrations, { recursive: true });
  for (let k = 1; k <= count; k++) {
    const m = syncMigration(k);
    writeFileSync(join(migrations, `${pad(k, 5)}_${m.name}.up.sql`), m.sql);
  }
}
