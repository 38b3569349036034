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

/**
 * The relations Confiture keeps in the managed schema for itself: the tracking table, the events
 * table, and the tracking table's `_backup` copies (`init --force`, or the runbook's by hand).
 * Schema knowledge (catalog/) leaves them out of what it reports as the user's.
 */
export function ownRelations(t: HistoryTables): { names: string[]; backupsOf: string } {
  return { names: [t.trackingTable, EVENTS_TABLE], backupsOf: t.trackingTable };
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
 * a hand-made or older tracking table lacks (unless the caller has just read every column of it,
 * `columnsKnownComplete`). One round trip when nothing is missing. Call only while holding the
 * migration lock.
 */
export async function ensureHistoryTables(
  session: Session,
  t: HistoryTables,
  opts: { columnsKnownComplete?: boolean } = {},
): Promise<{ created: boolean }> {
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
  if (opts.columnsKnownComplete === true) return { created: false };
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
 * `<table>_backup_<UTC timestamp>`, then `..._<n>`, when that name is taken) and create a fresh
 * one, in one transaction. History is never dropped. Every name fits PostgreSQL's 63 bytes: a
 * long table name is cut to make room for the suffix, which is always kept whole, so the names
 * stay distinct. Call only while holding the migration lock.
 */
export async function recreateTrackingTable(
  session: Session,
  t: HistoryTables,
  now: Date = new Date(),
): Promise<{ backupTable: string; rowsKept: number }> {
  const rows = await session.query<{ n: string }>(
    `select count(*)::text as n from ${qualify(t.schema, t.trackingTable)}`,
  );
  let backupTable = "";
  await withTransaction(session, async () => {
    // The primary key's index keeps its name across a rename; rename it too so the new
    // table can have a `<table>_pkey` of its own.
    const cons = await session.query<{ conname: string }>(
      `select conname from pg_constraint where conrelid = $1::regclass and contype in ('p', 'u', 'x')
        order by contype = 'p' desc, conname`,
      [qualify(t.schema, t.trackingTable)],
    );
    const names = await backupNames(session, t, cons.length, now);
    backupTable = names.table;
    await session.query(
      `alter table ${qualify(t.schema, t.trackingTable)} rename to ${quoteIdent(backupTable)}`,
    );
    for (const [i, c] of cons.entries()) {
      await session.query(
        `alter table ${qualify(t.schema, backupTable)} rename constraint ${quoteIdent(c.conname)} to ${quoteIdent(names.constraints[i]!)}`,
      );
    }
    await session.query(trackingDdl(t.schema, t.trackingTable));
  });
  await ensureHistoryTables(session, t);
  return { backupTable, rowsKept: Number(rows[0]?.n ?? 0) };
}

/** PostgreSQL cuts longer identifiers (NAMEDATALEN - 1 bytes), which would make names collide. */
export const MAX_IDENTIFIER_BYTES = 63;

/** How many `_<n>` suffixes are tried within one second before giving up. */
const MAX_NUMBERED_BACKUPS = 100;

/**
 * `base` + `suffix` within MAX_IDENTIFIER_BYTES: `base` is cut at a character boundary, the
 * suffix is kept whole.
 * @example fitIdentifier("a".repeat(60), "_backup") // "a".repeat(56) + "_backup"
 */
export function fitIdentifier(base: string, suffix: string): string {
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix, "utf8");
  if (Buffer.byteLength(base, "utf8") <= room) return base + suffix;
  let cut = "";
  let bytes = 0;
  for (const ch of base) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > room) break;
    cut += ch;
    bytes += size;
  }
  return cut + suffix;
}

/**
 * The names `init --force` gives the old table and its `constraintCount` index-backed
 * constraints (`<backup>_pkey`, or `_key1`, `_key2`, ...): the first candidate none of whose
 * names is taken by a relation in the schema (indexes included), checked in one query.
 * Candidates: `<table>_backup`, `<table>_backup_<stamp>`, `<table>_backup_<stamp>_<n>`.
 */
export async function backupNames(
  session: Session,
  t: HistoryTables,
  constraintCount: number,
  now: Date = new Date(),
): Promise<{ table: string; constraints: string[] }> {
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const suffixes = ["_backup", `_backup_${stamp}`];
  for (let n = 2; n <= MAX_NUMBERED_BACKUPS; n++) suffixes.push(`_backup_${stamp}_${n}`);
  const candidates = suffixes.map((suffix) => ({
    table: fitIdentifier(t.trackingTable, suffix),
    constraints: Array.from({ length: constraintCount }, (_, i) =>
      fitIdentifier(t.trackingTable, `${suffix}_${constraintCount === 1 ? "pkey" : `key${i + 1}`}`),
    ),
  }));
  const taken = await session.query<{ relname: string }>(
    `select relname from pg_class
      where relnamespace = (select oid from pg_namespace where nspname = $1) and relname = any($2::text[])`,
    [t.schema, candidates.flatMap((c) => [c.table, ...c.constraints])],
  );
  const used = new Set(taken.map((r) => r.relname));
  const free = candidates.find((c) => !used.has(c.table) && c.constraints.every((name) => !used.has(name)));
  if (free === undefined) {
    throw new Error(
      `no free name for a backup of ${qualify(t.schema, t.trackingTable)}: ${candidates.at(-1)?.table} and every name before it exist; drop or rename old backups and run the command again`,
    );
  }
  return free;
}
