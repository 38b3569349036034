/** The history tables (tracking + events): the only way in from outside src/history. */
export { type AuditEvent, type EventQuery, type EventRecord, failureEvent } from "./events.js";
export type { AppliedRow, HistoryRecord, InlineChange, RowStatus } from "./rows.js";
export { type HistoryStore, historyStore } from "./store.js";
export { EVENTS_TABLE, type HistoryTables, ownRelations } from "./tables.js";
