/**
 * The audit log, `<schema>.confiture_events`: one row per command that changed the database
 * or its history (time, actor, host, command, environment, outcome, details).
 */
import { qualify } from "../db/identifiers.js";
import { actorHost, type Session } from "../db/session.js";
import { redactDeep } from "../redact/index.js";
import { EVENTS_TABLE, eventsDdl, type HistoryTables } from "./tables.js";

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
 * Append to confiture_events (creating it if needed). Details are redacted. Never throws:
 * auditing must not mask the real outcome; returns whether the row was written.
 */
export async function recordEvent(session: Session, t: HistoryTables, event: EventRecord): Promise<boolean> {
  if (session.closed) return false;
  try {
    await session.query(eventsDdl(t.schema));
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
