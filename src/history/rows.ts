/**
 * Reading and writing rows of the tracking table. Readers treat a null status as 'applied'
 * (hand-written rows). `applied_by` is `user@host (confiture X)`, computed by the server.
 */
import { qualify } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { CheckFailedError, SqlError } from "../errors.js";
import { TOOL_VERSION } from "../version.js";
import type { HistoryTables } from "./tables.js";

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

/** What Confiture records about a migration; `status` says how it came to be in history. */
export interface HistoryRecord {
  version: string;
  name: string;
  checksum: string;
  status: "applied" | "failed" | "baseline" | "reconstructed";
  executionMs: number | null;
  error: string | null;
}

/**
 * All rows, oldest first, or null when the table does not exist (one round trip either way).
 * Rows read prove that the table has every column Confiture writes: the query names them all.
 */
export async function readHistory(session: Session, t: HistoryTables): Promise<AppliedRow[] | null> {
  const table = qualify(t.schema, t.trackingTable);
  try {
    // The rows arrive in their final shape (names, the null status of a hand-written row as
    // 'applied'), so 10,000 of them are not copied once more; applied_at comes as ISO text:
    // parsing 10,000 timestamps into Dates was a measurable share of `status`.
    return await session.query<AppliedRow>(
      `select version, name, checksum,
              to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "appliedAt",
              execution_ms as "executionMs", applied_by as "appliedBy",
              coalesce(status, 'applied') as status, error
         from ${table} order by ${table}.applied_at, version`,
    );
  } catch (err) {
    if (err instanceof SqlError && (err.server.sqlstate === "42P01" || err.server.sqlstate === "3F000"))
      return null;
    // A table by that name without the columns Confiture reads: made by hand, or damaged.
    if (err instanceof SqlError && err.server.sqlstate === "42703") {
      throw new CheckFailedError(
        "HISTORY_TABLE_INVALID",
        `the tracking table ${t.schema}.${t.trackingTable} is not one Confiture can read (${err.message}): it was made by hand ` +
          `or by another tool, or it is damaged. "confiture init" adds the missing columns and keeps every row; ` +
          `if its rows cannot be trusted, back it up and run "confiture init --force" (the old table is kept), then "confiture migrate sync-history"`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * `user@host (confiture X)`, computed in SQL so current_user is the server's view. The host
 * is set once per session (`confiture.host`, see db/session.ts), so no statement needs it as text.
 */
const APPLIED_BY_SQL = `current_user || '@' || coalesce(current_setting('confiture.host', true), '?') || ' (confiture ${TOOL_VERSION})'`;

const UPSERT_TAIL = `on conflict (version) do update set name = excluded.name, checksum = excluded.checksum,
       applied_at = excluded.applied_at, execution_ms = excluded.execution_ms,
       applied_by = excluded.applied_by, status = excluded.status, error = excluded.error`;

/**
 * The longest id or name written inline. The same number as migrations/files.ts
 * MAX_MIGRATION_ID_LENGTH (which every migration file and `migrate generate` are held to, so
 * this assertion never fires on a valid file); a unit test holds the two equal.
 */
export const MAX_INLINE_ID_LENGTH = 200;

/** Characters a migration id or name may have (the file-name pattern) and a SHA-256 hex. */
const SAFE_ID = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_INLINE_ID_LENGTH}}$`);
const SAFE_CHECKSUM = /^[0-9a-f]{64}$/;

/** A migration applied (or rolled back) in the same message as its statements. */
export type InlineChange =
  | { kind: "applied"; version: string; name: string; checksum: string }
  | { kind: "deleted"; version: string };

/**
 * The history change of a migration as SQL text, so it can travel in the same message as the
 * migration's statements and its COMMIT (one round trip per migration). The values are safe
 * by construction — ids and names come from file names matching the migration file pattern,
 * the checksum is our own hex digest — and that is asserted here, so a literal can never carry
 * anything else. execution_ms is measured by the server: from the transaction's start to here.
 */
export function inlineHistoryStatement(t: HistoryTables, change: InlineChange): string {
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
export async function writeHistoryRow(session: Session, t: HistoryTables, row: HistoryRecord): Promise<void> {
  await session.query(
    `insert into ${qualify(t.schema, t.trackingTable)}
       (version, name, checksum, applied_at, execution_ms, applied_by, status, error)
     values ($1, $2, $3, now(), $4, ${APPLIED_BY_SQL}, $5, $6)
     ${UPSERT_TAIL}`,
    [row.version, row.name, row.checksum, row.executionMs, row.status, row.error],
  );
}

/** Replace the `error` note of a row (a no-transaction migration's progress). */
export async function updateHistoryNote(
  session: Session,
  t: HistoryTables,
  version: string,
  note: string,
): Promise<void> {
  await session.query(`update ${qualify(t.schema, t.trackingTable)} set error = $2 where version = $1`, [
    version,
    note,
  ]);
}

/** Replace the recorded checksum of a row (`verify-checksums --repair`). */
export async function updateHistoryChecksum(
  session: Session,
  t: HistoryTables,
  version: string,
  checksum: string,
): Promise<void> {
  await session.query(`update ${qualify(t.schema, t.trackingTable)} set checksum = $2 where version = $1`, [
    version,
    checksum,
  ]);
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
