/**
 * Schema knowledge as operations on a configured database: `inspectSchema`, drift-detect and
 * sync-history, built on catalog/'s introspection and diff and on a scratch database where the
 * expected schema is replayed (README "Architecture").
 */
export { type DriftOptions, type DriftResult, describeDifference, detectDrift } from "./drift.js";
export { inspectSchema, type SchemaInspection } from "./inspect.js";
export {
  type ScratchDatabase,
  type ScratchOptions,
  type ScratchOutcome,
  withScratchDatabase,
} from "./scratch.js";
export {
  type SyncEntry,
  type SyncHistoryOptions,
  type SyncHistoryResult,
  type SyncVerdict,
  syncHistory,
} from "./sync-history.js";
