/**
 * Confiture's public API. Everything the CLI does is available here; the library returns
 * results and throws typed errors (see ./errors.js), and never prints or exits.
 *
 * @example
 * import { loadConfig, migrateUp } from "confiture";
 * const config = await loadConfig({ environment: "staging" });
 * const { applied } = await migrateUp(config);
 */

export {
  type AuditEvent,
  DEFAULT_EVENT_LIMIT,
  type EventsResult,
  type ListEventsOptions,
  listEvents,
  parseSince,
} from "./audit/events.js";
export {
  type BackupCheck,
  type BackupCheckName,
  type BackupCheckVerdict,
  type BackupEntry,
  type BackupListItem,
  type BackupListResult,
  type BackupMetadata,
  BackupMetadataError,
  type BackupProgress,
  type BackupVerification,
  type BackupVerifyOptions,
  type BackupVerifyResult,
  backupConfig,
  backupList,
  type ConfigBackupResult,
  type CreateBackupOptions,
  type CreateBackupResult,
  createBackup,
  listBackups,
  type PitrArchiver,
  type PitrBaseBackupOptions,
  type PitrBaseBackupResult,
  type PitrLevel,
  type PitrRecoverOptions,
  type PitrRecoverResult,
  type PitrStatusResult,
  type PrunedBackup,
  type PruneOptions,
  type PruneResult,
  parseTargetTime,
  pitrBaseBackup,
  pitrRecover,
  pitrStatus,
  pruneBackups,
  RECOVERY_TARGET_ACTIONS,
  type RecoveryTargetAction,
  type RestoreOptions,
  type RestoreResult,
  readBackupMetadata,
  readBackupVerification,
  restoreBackup,
  restoreTable,
  type TableRestoreCounts,
  type TableRestoreMode,
  type TableRestoreOptions,
  type TableRestoreResult,
  verifyBackup,
  writeBackupVerification,
} from "./backup/index.js";
export type {
  ColumnInfo,
  ConstraintInfo,
  ExtensionInfo,
  FunctionInfo,
  IndexInfo,
  SchemaModel,
  SchemaObject,
  SequenceInfo,
  TableInfo,
  TriggerInfo,
  TypeInfo,
  UserObjects,
  ViewInfo,
} from "./catalog/index.js";
export { diffSchemas, type SchemaDifference, schemaFingerprint } from "./catalog/index.js";
export { COMMANDS, type CommandName } from "./commands.js";
export {
  type ConfitureConfig,
  type DatabaseUrlSetting,
  describeConfig,
  type LoadConfigOptions,
  loadConfig,
  requireDatabaseUrl,
} from "./config/index.js";
export { describeHolder, holderFields, type LockHolder } from "./db/advisory-lock.js";
export * from "./errors.js";
export {
  type HealthItem,
  type HealthLevel,
  type HealthResult,
  healthCheck,
  type Verdict,
  type VerifyFix,
  type VerifyItem,
  type VerifyOptions,
  type VerifyResult,
  verify,
} from "./health/index.js";
export {
  type IncidentEvidence,
  type IncidentSeverity,
  type LogIncidentOptions,
  type LogIncidentResult,
  logIncident,
  type NewIncidentOptions,
  type NewIncidentResult,
  newIncident,
  type Piece,
  SEVERITIES,
} from "./incident/index.js";
export { type LockStatusResult, lockStatus, type UnlockResult, unlock } from "./locking/lock-ops.js";
export { checksumOf } from "./migrations/checksum.js";
export {
  migrationChecksum,
  repairChecksum,
  type VerifyChecksumsResult,
  verifyChecksums,
} from "./migrations/checksums.js";
export { type DownOptions, type DownResult, migrateDown } from "./migrations/down.js";
export { type MigrationFile, readMigrations } from "./migrations/files.js";
export { generateMigration } from "./migrations/generate.js";
export type { ChecksumProblem } from "./migrations/history-checks.js";
export { baseline, resolveFailed } from "./migrations/history-edits.js";
export type { RestorePoint } from "./migrations/restore-point.js";
export type { RunnerEvent } from "./migrations/runner.js";
export {
  type MigrationState,
  type MigrationStatusEntry,
  migrationStatus,
  type StatusResult,
} from "./migrations/status.js";
export { type AppliedMigration, migrateUp, type UpOptions, type UpResult } from "./migrations/up.js";
export type { CheckReport, Finding, Severity } from "./ops/report.js";
export { type InitResult, init } from "./project/init.js";
export { displayUrl, redactUrl } from "./redact/index.js";
export {
  type DriftOptions,
  type DriftResult,
  describeDifference,
  detectDrift,
  inspectSchema,
  type SchemaInspection,
  type SyncEntry,
  type SyncHistoryOptions,
  type SyncHistoryResult,
  type SyncVerdict,
  syncHistory,
} from "./schema/index.js";
export {
  connectionEnv,
  defaultSearchPath,
  type FindToolOptions,
  type FoundTool,
  findTool,
  parseToolVersion,
  type RunToolOptions,
  readToolVersion,
  runTool,
  type ToolConnection,
  type ToolOutput,
  type ToolResult,
  type ToolVersion,
} from "./tools/index.js";
export { TOOL_VERSION } from "./version.js";
