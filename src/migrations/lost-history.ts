/**
 * Lost history is never mistaken for a fresh database (SPEC section 5): when the tracking table
 * is empty (or missing) but the managed schema already holds user objects, `status` reports it
 * and `up` refuses before running anything, unless the user adopts the non-empty schema.
 */
import { describeUserObjects, findUserObjects, type UserObjects } from "../catalog/index.js";
import type { Session } from "../db/session.js";
import { type HistoryTables, ownRelations } from "../history/index.js";

/** The user objects of the managed schema (Confiture's own tables and their backups aside). */
export function untrackedObjects(session: Session, tables: HistoryTables): Promise<UserObjects> {
  return findUserObjects(session, tables.schema, ownRelations(tables));
}

/** What was found and the ways forward, as one paragraph (no trailing period). */
export function lostHistoryMessage(tables: HistoryTables, found: UserObjects): string {
  return (
    `the history (${tables.schema}.${tables.trackingTable}) is empty but schema ${tables.schema} already holds ` +
    `${describeUserObjects(found)}: this looks like lost history, not a new database. ` +
    `Rebuild the history from what the schema contains with "confiture migrate sync-history" (try --dry-run first), ` +
    `restore it (init --force keeps the old table as ${tables.trackingTable}_backup), or record what is ` +
    `already applied with "confiture migrate baseline --through ID"; to apply every migration to this ` +
    `schema anyway, run "confiture migrate up --adopt-non-empty"`
  );
}

/** SQLSTATEs of "already exists": a table or other relation (42P07), any other object (42710). */
export const ALREADY_EXISTS = new Set(["42P07", "42710"]);

/** Said when a migration fails because its object exists and the run began with empty history. */
export const ALREADY_EXISTS_NOTE =
  " The history was empty when this run started and the object already exists: if these migrations " +
  "were applied to this database before, its history was lost; rather than changing the file, rebuild it with " +
  '"confiture migrate sync-history", or record them with "confiture migrate baseline --through ID" (or restore the history table).';
