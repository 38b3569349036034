/**
 * The history tables' shape: `<schema>.<tracking_table>` (SPEC section 3) and
 * `<schema>.confiture_events`. Creating, upgrading and (for `init --force`) recreating them
 * while keeping the old rows. Rows written by hand with only (version, applied_at, checksum)
 * are valid: every other column is nullable or has a default.
 */
import { qualify, quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { withTransaction } from "../db/with-session.js";

/** Where the history lives. */
export interface HistoryTables {
  schema: string;
  trackingTable: string;
}

export const EVENTS_TABLE = "confiture_events";

const TRACKING_COLUMNS: Array<[string, string]> = [
  ["version", "text primary key"],
  ["name", "text"],
  ["checksum", "text"],
  ["applied_at", "timestamptz not null default now()"],
  ["execution_ms", "integer"],
  ["applied_by", "text default current_user"],
  ["status", "text not null default 'applied'"],
  ["error", "text"],
];

function trackingDdl(schema: string, table: string): string {
  const cols = TRACKING_COLUMNS.map(([n, t]) => `  ${quoteIdent(n)} ${t}`).join(",\n");
  return `create table if not exists ${qualify(schema, table)} (\n${cols}\n)`;
}

/** The events table's DDL (`create table if not exists`). */
export function eventsDdl(schema: string): string {
  return `create table if not exists ${qualify(schema, EVENTS_TABLE)} (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null default current_user,
  host text,
  command text not null,
  environment text,
  outcome text not null,
  details jsonb not null default '{}'::jsonb
)`;
}

/** True when the tracking table exists. */
export async function trackingTableExists(session: Session, t: HistoryTables): Promise<boolean> {
  return relationExists(session, t.schema, t.trackingTable);
}

async function relationExists(session: Session, schema: string, name: string): Promise<boolean> {
  const rows = await session.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [
    qualify(schema, name),
  ]);
  return rows[0]?.ok === true;
}

/**
 * Create the schema, the tracking table and the events table when missing, and add any column
 * a hand-made or older tracking table lacks. Call only while holding the migration lock.
 */
export async function ensureHistoryTables(session: Session, t: HistoryTables): Promise<{ created: boolean }> {
  const rows = await session.query<{ tracking: boolean; events: boolean; schema: boolean }>(
    `select to_regclass($1) is not null as tracking, to_regclass($2) is not null as events,
            exists (select from pg_namespace where nspname = $3) as schema`,
    [qualify(t.schema, t.trackingTable), qualify(t.schema, EVENTS_TABLE), t.schema],
  );
  const have = rows[0]!;
  if (!have.schema) await session.query(`create schema if not exists ${quoteIdent(t.schema)}`);
  if (!have.events) await session.query(eventsDdl(t.schema));
  if (!have.tracking) {
    await session.query(trackingDdl(t.schema, t.trackingTable));
    return { created: true };
  }
  const present = await session.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_schema = $1 and table_name = $2",
    [t.schema, t.trackingTable],
  );
  const names = new Set(present.map((r) => r.column_name));
  for (const [name, type] of TRACKING_COLUMNS) {
    if (names.has(name) || name === "version") continue;
    await session.query(
      `alter table ${qualify(t.schema, t.trackingTable)} add column if not exists ${quoteIdent(name)} ${type.replace(" not null", "")}`,
    );
  }
  return { created: false };
}

/**
 * `init --force`: move the tracking table aside as `<table>_backup` (or
 * `<table>_backup_<UTC timestamp>` when that name is taken) and create a fresh one, in one
 * transaction. History is never dropped. Call only while holding the migration lock.
 */
export async function recreateTrackingTable(
  session: Session,
  t: HistoryTables,
): Promise<{ backupTable: string; rowsKept: number }> {
  const backupTable = await backupName(session, t.schema, t.trackingTable);
  const rows = await session.query<{ n: string }>(
    `select count(*)::text as n from ${qualify(t.schema, t.trackingTable)}`,
  );
  await withTransaction(session, async () => {
    // The primary key's index keeps its name across a rename; rename it too so the new
    // table can have a `<table>_pkey` of its own.
    const cons = await session.query<{ conname: string }>(
      `select conname from pg_constraint where conrelid = $1::regclass and contype in ('p', 'u', 'x')`,
      [qualify(t.schema, t.trackingTable)],
    );
    await session.query(
      `alter table ${qualify(t.schema, t.trackingTable)} rename to ${quoteIdent(backupTable)}`,
    );
    for (const [i, c] of cons.entries()) {
      const suffix = cons.length === 1 ? "pkey" : `key${i + 1}`;
      await session.query(
        `alter table ${qualify(t.schema, backupTable)} rename constraint ${quoteIdent(c.conname)} to ${quoteIdent(`${backupTable}_${suffix}`.slice(0, 63))}`,
      );
    }
    await session.query(trackingDdl(t.schema, t.trackingTable));
  });
  await ensureHistoryTables(session, t);
  return { backupTable, rowsKept: Number(rows[0]?.n ?? 0) };
}

async function backupName(session: Session, schema: string, table: string): Promise<string> {
  const plain = `${table}_backup`;
  if (!(await relationExists(session, schema, plain))) return plain;
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  let name = `${table}_backup_${stamp}`;
  for (let n = 2; await relationExists(session, schema, name); n++) name = `${table}_backup_${stamp}_${n}`;
  return name;
}
