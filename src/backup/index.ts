/**
 * Backups: `backup create` (pg_dump + metadata from one exported snapshot), `backup list`,
 * `backup prune` (retention) and `config backup`. Other backup commands append their exports.
 */

export { backupConfig, type ConfigBackupResult } from "./config-backup.js";
export {
  type BackupProgress,
  type CreateBackupOptions,
  type CreateBackupResult,
  createBackup,
} from "./create.js";
export { type BackupListItem, type BackupListResult, backupList } from "./list.js";
export {
  type BackupEntry,
  type BackupMetadata,
  BackupMetadataError,
  type BackupVerification,
  diskSize,
  listBackups,
  METADATA_SUFFIX,
  metadataPathOf,
  metadataProblem,
  readBackupMetadata,
  readBackupVerification,
  VERIFIED_SUFFIX,
  verificationProblem,
  verifiedPathOf,
  writeBackupVerification,
} from "./metadata.js";
export { backupName, isPartialName, parseBackupName, partialName, utcStamp } from "./naming.js";
export {
  type PitrBaseBackupOptions,
  type PitrBaseBackupResult,
  pitrBaseBackup,
} from "./pitr-base-backup.js";
export {
  type PitrRecoverOptions,
  type PitrRecoverResult,
  parseTargetTime,
  pitrRecover,
  RECOVERY_TARGET_ACTIONS,
  type RecoveryTargetAction,
} from "./pitr-recover.js";
export { type PitrArchiver, type PitrLevel, type PitrStatusResult, pitrStatus } from "./pitr-status.js";
export { type PrunedBackup, type PruneOptions, type PruneResult, pruneBackups } from "./prune.js";
export { type RestoreOptions, type RestoreResult, restoreBackup } from "./restore.js";
export {
  restoreTable,
  type TableRestoreCounts,
  type TableRestoreMode,
  type TableRestoreOptions,
  type TableRestoreResult,
} from "./restore-table.js";
export {
  type BackupCheck,
  type BackupCheckName,
  type BackupCheckVerdict,
  type BackupVerifyOptions,
  type BackupVerifyResult,
  verifyBackup,
} from "./verify.js";
