/**
 * The one interface to the history tables. Every statement that reads or writes the tracking
 * table or the events table goes through a HistoryStore; nothing outside src/history writes them.
 */
import type { Session } from "../db/session.js";
import { type AuditEvent, type EventQuery, type EventRecord, readEvents, recordEvent } from "./events.js";
import {
  type AppliedRow,
  deleteHistoryRow,
  type HistoryRecord,
  type InlineChange,
  inlineHistoryStatement,
  readHistory,
  updateHistoryChecksum,
  updateHistoryNote,
  writeHistoryRow,
} from "./rows.js";
import {
  ensureHistoryTables,
  type HistoryTables,
  recreateTrackingTable,
  trackingTableExists,
} from "./tables.js";

/** The history of one database, through one session. */
export interface HistoryStore {
  readonly tables: HistoryTables;
  /** True when the tracking table exists. */
  exists(): Promise<boolean>;
  /** Create the schema and both tables when missing; add columns an older table lacks. Needs the lock. */
  ensure(): Promise<{ created: boolean }>;
  /** Move the tracking table aside (never dropped) and create a fresh one. Needs the lock. */
  recreateWithBackup(): Promise<{ backupTable: string; rowsKept: number }>;
  /** Every row, oldest first; [] when the table does not exist. */
  read(): Promise<AppliedRow[]>;
  /** Insert or replace the row of a migration: applied, failed, baseline or reconstructed. */
  record(row: HistoryRecord): Promise<void>;
  /** Replace a row's `error` note (the progress of a no-transaction migration). */
  setNote(version: string, note: string): Promise<void>;
  /** Replace a row's recorded checksum. */
  setChecksum(version: string, checksum: string): Promise<void>;
  /** Delete a row; returns whether it existed. */
  remove(version: string): Promise<boolean>;
  /** A history change as SQL text, to travel in the same message as a migration's statements. */
  inline(change: InlineChange): string;
  /** Append an audit event. Never throws; returns whether it was written. */
  recordEvent(event: EventRecord): Promise<boolean>;
  /** Audit events, newest first; null when the events table does not exist. Reads only. */
  readEvents(query: EventQuery): Promise<AuditEvent[] | null>;
}

/**
 * The history store of the database `session` is connected to.
 * @example const rows = await historyStore(session, { schema: "public", trackingTable: "confiture_migrations" }).read();
 */
export function historyStore(session: Session, tables: HistoryTables): HistoryStore {
  // Set when read() succeeded on this session: the tracking table then has every column, and
  // ensure() need not inspect them again (an information_schema query, ~10 ms, on every `up`).
  let readComplete = false;
  // Set once ensure() has made sure the events table exists: recordEvent skips its own check.
  let eventsTableKnown = false;
  return {
    tables,
    exists: () => trackingTableExists(session, tables),
    ensure: async () => {
      const result = await ensureHistoryTables(session, tables, { columnsKnownComplete: readComplete });
      eventsTableKnown = true;
      return result;
    },
    recreateWithBackup: () => recreateTrackingTable(session, tables),
    read: async () => {
      const rows = await readHistory(session, tables);
      readComplete = rows !== null;
      return rows ?? [];
    },
    record: (row) => writeHistoryRow(session, tables, row),
    setNote: (version, note) => updateHistoryNote(session, tables, version, note),
    setChecksum: (version, checksum) => updateHistoryChecksum(session, tables, version, checksum),
    remove: (version) => deleteHistoryRow(session, tables, version),
    inline: (change) => inlineHistoryStatement(tables, change),
    recordEvent: (event) => recordEvent(session, tables, event, { tableKnown: eventsTableKnown }),
    readEvents: (query) => readEvents(session, tables, query),
  };
}
