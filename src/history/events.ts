/**
 * The audit log, `<schema>.confiture_events`: one row per command that changed the database
 * or its history (time, actor, host, command, environment, outcome, details).
 */
import { qualify } from "../db/identifiers.js";
import { actorHost, type Session } from "../db/session.js";
import { redactDeep } from "../redact/index.js";
import { EVENTS_TABLE, eventsDdl, type HistoryTables } from "./tables.js";

/** A row of the audit log, as read back. */
export interface AuditEvent {
  id: number;
  /** When it was recorded: ISO 8601 UTC with milliseconds, `2026-11-24T21:40:03.123Z`. */
  at: string;
  /** The database role that ran the command. */
  actor: string;
  /** The machine it ran on. */
  host: string | null;
  command: string;
  environment: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

/** Which events to read: the newest `limit`, recorded at or after `since` when given. */
export interface EventQuery {
  limit: number;
  since?: Date | undefined;
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

/**
 * Append to confiture_events (creating it if needed, unless `tableKnown`: this session already
 * ensured it). Details are redacted. Never throws:
 * auditing must not mask the real outcome; returns whether the row was written.
 */
export async function recordEvent(
  session: Session,
  t: HistoryTables,
  event: EventRecord,
  opts: { tableKnown?: boolean } = {},
): Promise<boolean> {
  if (session.closed) return false;
  try {
    if (opts.tableKnown !== true) await session.query(eventsDdl(t.schema));
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

/**
 * The newest events first, at most `query.limit`, none older than `query.since`; null when the
 * events table does not exist (no command has changed this database yet). Reads only.
 */
export async function readEvents(
  session: Session,
  t: HistoryTables,
  query: EventQuery,
): Promise<AuditEvent[] | null> {
  const table = qualify(t.schema, EVENTS_TABLE);
  const found = await session.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [table]);
  if (found[0]?.ok !== true) return null;
  const rows = await session.query<Omit<AuditEvent, "id"> & { id: string }>(
    `select id::text as id, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
            actor, host, command, environment, outcome, details
       from ${table}
      where $2::timestamptz is null or at >= $2::timestamptz
      order by id desc
      limit $1`,
    [query.limit, query.since?.toISOString() ?? null],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), details: r.details ?? {} }));
}
