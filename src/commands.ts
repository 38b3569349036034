/**
 * The name of every command, written once. The CLI builds its command tree from these, the
 * library names its sessions after them (`application_name` = `confiture: migrate up`), and
 * they are the `command` of JSON documents and of audit events.
 */
export const COMMANDS = {
  init: "init",
  migrateGenerate: "migrate generate",
  migrateUp: "migrate up",
  migrateDown: "migrate down",
  migrateStatus: "migrate status",
  migrateVerifyChecksums: "migrate verify-checksums",
  migrateChecksum: "migrate checksum",
  migrateBaseline: "migrate baseline",
  migrateResolve: "migrate resolve",
  migrateDriftDetect: "migrate drift-detect",
  migrateSyncHistory: "migrate sync-history",
  verify: "verify",
  healthCheck: "health check",
  incidentNew: "incident new",
  incidentLog: "incident log",
  backupCreate: "backup create",
  backupList: "backup list",
  backupPrune: "backup prune",
  backupVerify: "backup verify",
  restore: "restore",
  configBackup: "config backup",
  pitrStatus: "pitr status",
  pitrBaseBackup: "pitr base-backup",
  pitrRecover: "pitr recover",
  lockStatus: "lock status",
  unlock: "unlock",
  configShow: "config show",
  events: "events",
} as const;

export type CommandName = (typeof COMMANDS)[keyof typeof COMMANDS];
