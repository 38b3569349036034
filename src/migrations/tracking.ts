/**
 * The history tables: `<schema>.<tracking_table>` (SPEC section 3) and `<schema>.confiture_events`.
 * Rows written by hand with only (version, applied_at, checksum) are valid rows: every other
 * column is nullable or has a default, and readers treat a null status as 'applied'.
 */
import { qualify, quoteIdent } from "../db/identifiers.js";
import { actorHost, type Session, TOOL_VERSION } from "../db/session.js";
import { redactDeep, SqlError } from "../errors.js";

/** Where the history lives. */
export interface HistoryTables {
  schema: string;
  trackingTable: string;
}

export const EVENTS_TABLE = "confiture_events";

export type RowStatus = "applied" | "failed" | "baseline" | "reconstructed" | (string & {});

/** One row of the tracking table. */
export interface AppliedRow {
  version: string;
  name: string | null;
  checksum: string | null;
  /** ISO 8601 in UTC with milliseconds (`2026-11-24T12:34:03.121Z`): sorts as text. */
  appliedAt: string;
  executionMs: number | null;
  appliedBy: string | null;
  status: RowStatus;
  error: string | null;
}

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

function eventsDdl(schema: string): string {
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
  const rows = await session.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [
    qualify(t.schema, t.trackingTable),
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
  if (!have.schema) await session.exec(`create schema if not exists ${quoteIdent(t.schema)}`);
  if (!have.events) await session.exec(eventsDdl(t.schema));
  if (!have.tracking) {
    await session.exec(trackingDdl(t.schema, t.trackingTable));
    return { created: true };
  }
  const present = await session.query<{ column_name: string }>(
    "select column_name from information_schema.columns where table_schema = $1 and table_name = $2",
    [t.schema, t.trackingTable],
  );
  const names = new Set(present.map((r) => r.column_name));
  for (const [name, type] of TRACKING_COLUMNS) {
    if (names.has(name) || name === "version") continue;
    await session.exec(
      `alter table ${qualify(t.schema, t.trackingTable)} add column if not exists ${quoteIdent(name)} ${type.replace(" not null", "")}`,
    );
  }
  return { created: false };
}

/** Create a fresh tracking table (used by `init --force` after moving the old one aside). */
export async function createTrackingTable(session: Session, t: HistoryTables): Promise<void> {
  await session.exec(trackingDdl(t.schema, t.trackingTable));
}

/** All rows, oldest first. Returns [] when the table does not exist (one round trip either way). */
export async function readHistory(session: Session, t: HistoryTables): Promise<AppliedRow[]> {
  let rows: Array<{
    version: string;
    name: string | null;
    checksum: string | null;
    applied_at: string;
    execution_ms: number | null;
    applied_by: string | null;
    status: string | null;
    error: string | null;
  }>;
  try {
    rows = await session.query(
      // applied_at as ISO text: parsing 10,000 timestamps into Dates is a measurable share of `status`.
      `select version, name, checksum,
              to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as applied_at,
              execution_ms, applied_by, status, error
         from ${qualify(t.schema, t.trackingTable)} order by ${qualify(t.schema, t.trackingTable)}.applied_at, version`,
    );
  } catch (err) {
    if (err instanceof SqlError && (err.server.sqlstate === "42P01" || err.server.sqlstate === "3F000"))
      return [];
    throw err;
  }
  return rows.map((r) => ({
    version: r.version,
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    executionMs: r.execution_ms,
    appliedBy: r.applied_by,
    status: r.status ?? "applied",
    error: r.error,
  }));
}

/**
 * `user@host (confiture X)`, computed in SQL so current_user is the server's view. The host
 * is set once per session (`confiture.host`, see db/session.ts), so no statement needs it as text.
 */
const APPLIED_BY_SQL = `current_user || '@' || coalesce(current_setting('confiture.host', true), '?') || ' (confiture ${TOOL_VERSION})'`;

const UPSERT_TAIL = `on conflict (version) do update set name = excluded.name, checksum = excluded.checksum,
       applied_at = excluded.applied_at, execution_ms = excluded.execution_ms,
       applied_by = excluded.applied_by, status = excluded.status, error = excluded.error`;

/** Characters a migration id or name may have (the file-name pattern) and a SHA-256 hex. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,200}$/;
const SAFE_CHECKSUM = /^[0-9a-f]{64}$/;

/**
 * The history change of a migration as SQL text, so it can travel in the same message as the
 * migration's statements and its COMMIT (one round trip per migration). The values are safe
 * by construction — ids and names come from file names matching the migration file pattern,
 * the checksum is our own hex digest — and that is asserted here, so a literal can never carry
 * anything else. execution_ms is measured by the server: from the transaction's start to here.
 */
export function inlineHistoryStatement(
  t: HistoryTables,
  change:
    | { kind: "applied"; version: string; name: string; checksum: string }
    | { kind: "deleted"; version: string },
): string {
  const safe =
    SAFE_ID.test(change.version) &&
    (change.kind === "deleted" || (SAFE_ID.test(change.name) && SAFE_CHECKSUM.test(change.checksum)));
  if (!safe)
    throw new Error(`internal: history values for ${JSON.stringify(change.version)} are not file-name safe`);
  const table = qualify(t.schema, t.trackingTable);
  if (change.kind === "deleted") return `delete from ${table} where version = '${change.version}'`;
  return `insert into ${table} (version, name, checksum, applied_at, execution_ms, applied_by, status, error)
     values ('${change.version}', '${change.name}', '${change.checksum}', now(),
       (extract(epoch from clock_timestamp() - now()) * 1000)::integer, ${APPLIED_BY_SQL}, 'applied', null)
     ${UPSERT_TAIL}`;
}

/** Insert or replace a history row. */
export async function writeHistoryRow(
  session: Session,
  t: HistoryTables,
  row: {
    version: string;
    name: string;
    checksum: string;
    executionMs: number | null;
    status: RowStatus;
    error: string | null;
  },
): Promise<void> {
  await session.query(
    `insert into ${qualify(t.schema, t.trackingTable)}
       (version, name, checksum, applied_at, execution_ms, applied_by, status, error)
     values ($1, $2, $3, now(), $4, ${APPLIED_BY_SQL}, $5, $6)
     ${UPSERT_TAIL}`,
    [row.version, row.name, row.checksum, row.executionMs, row.status, row.error],
  );
}

/** Delete one history row; returns whether it existed. */
export async function deleteHistoryRow(
  session: Session,
  t: HistoryTables,
  version: string,
): Promise<boolean> {
  const rows = await session.query(
    `delete from ${qualify(t.schema, t.trackingTable)} where version = $1 returning version`,
    [version],
  );
  return rows.length > 0;
}

/** An audit record of a command that changed the database or its history. */
export interface EventRecord {
  command: string;
  environment: string | undefined;
  outcome: "success" | "failed" | "dry-run" | (string & {});
  details: Record<string, unknown>;
}

/** The audit record of a command that failed after it had touched the database. */
export function failureEvent(
  command: string,
  environment: string | undefined,
  details: Record<string, unknown>,
  err: unknown,
): EventRecord {
  return {
    command,
    environment,
    outcome: "failed",
    details: { ...details, error: err instanceof Error ? err.message : String(err) },
  };
}

/** Append to confiture_events (creating it if needed). Never throws: auditing must not mask the real outcome. */
export async function recordEvent(session: Session, t: HistoryTables, event: EventRecord): Promise<boolean> {
  if (session.closed) return false;
  try {
    await session.exec(eventsDdl(t.schema));
    await session.query(
      `insert into ${qualify(t.schema, EVENTS_TABLE)} (host, command, environment, outcome, details)
       values ($1, $2, $3, $4, $5::jsonb)`,
      [
        actorHost(),
        event.command,
        event.environment ?? null,
        event.outcome,
        JSON.stringify(redactDeep(event.details)),
      ],
    );
    return true;
  } catch {
    return false;
  }
}
