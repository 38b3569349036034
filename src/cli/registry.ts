/**
 * Every CLI command, in the order `confiture --help` lists them. main builds the commander
 * tree from this list; adding a command means writing its spec and adding it here.
 */
import { backupCreateCommand, backupListCommand, backupPruneCommand } from "./commands/backup.js";
import { backupVerifyCommand } from "./commands/backup-verify.js";
import { configBackupCommand, configShowCommand } from "./commands/config.js";
import { eventsCommand } from "./commands/events.js";
import { healthCheckCommand } from "./commands/health.js";
import {
  migrateBaselineCommand,
  migrateChecksumCommand,
  migrateResolveCommand,
  migrateVerifyChecksumsCommand,
} from "./commands/history.js";
import { incidentLogCommand, incidentNewCommand } from "./commands/incident.js";
import { initCommand } from "./commands/init.js";
import { lockStatusCommand, unlockCommand } from "./commands/lock.js";
import { migrateDownCommand, migrateGenerateCommand, migrateUpCommand } from "./commands/migrate.js";
import { pitrBaseBackupCommand, pitrRecoverCommand, pitrStatusCommand } from "./commands/pitr.js";
import { restoreCommand } from "./commands/restore.js";
import { migrateDriftDetectCommand, migrateSyncHistoryCommand } from "./commands/schema.js";
import { migrateStatusCommand } from "./commands/status.js";
import { verifyCommand } from "./commands/verify.js";
import type { CommandSpec } from "./spec.js";

/** The one list of commands. */
export const COMMAND_SPECS: readonly CommandSpec[] = [
  initCommand,
  migrateGenerateCommand,
  migrateUpCommand,
  migrateDownCommand,
  migrateStatusCommand,
  migrateVerifyChecksumsCommand,
  migrateChecksumCommand,
  migrateBaselineCommand,
  migrateResolveCommand,
  migrateDriftDetectCommand,
  migrateSyncHistoryCommand,
  lockStatusCommand,
  unlockCommand,
  healthCheckCommand,
  verifyCommand,
  backupCreateCommand,
  backupListCommand,
  backupPruneCommand,
  backupVerifyCommand,
  restoreCommand,
  incidentNewCommand,
  incidentLogCommand,
  eventsCommand,
  configShowCommand,
  configBackupCommand,
  pitrStatusCommand,
  pitrBaseBackupCommand,
  pitrRecoverCommand,
];
