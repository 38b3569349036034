/**
 * `describeConfig` for `confiture config show`. The redaction functions live in ../redact.ts
 * (re-exported here for the config module's callers).
 */
import { redactDeep, redactUrl } from "../redact.js";
import { formatDuration } from "./duration.js";
import type { ConfitureConfig } from "./types.js";

/**
 * The effective configuration as a plain snake_case object for `confiture config show`: the
 * same keys as confiture.yaml, durations written as in the file, the URL redacted, plus where the
 * URL came from and which CONFITURE_* variables (names only) were in effect.
 * @example describeConfig(await loadConfig({})).database_url_source // "DATABASE_URL"
 */
export function describeConfig(config: ConfitureConfig): Record<string, unknown> {
  const optionalDuration = (ms: number | undefined) => (ms === undefined ? null : formatDuration(ms));
  const described: Record<string, unknown> = {
    config_file: config.configPath ?? null,
    project_dir: config.projectDir,
    environment: config.environment ?? null,
    protected: config.protected,
    database_url: config.database.url === undefined ? null : redactUrl(config.database.url),
    database_url_source: config.database.source ?? null,
    database_url_error: config.database.error === undefined ? null : config.database.error.message,
    schema: config.schema,
    migrations_dir: config.migrationsDir,
    schema_dir: config.schemaDir,
    tracking_table: config.trackingTable,
    lock_timeout: formatDuration(config.lockTimeoutMs),
    statement_lock_timeout: formatDuration(config.statementLockTimeoutMs),
    backup: {
      dir: config.backup.dir,
      format: config.backup.format,
      compress: config.backup.compress,
      retention_days: config.backup.retentionDays,
    },
    objectives: {
      rpo: optionalDuration(config.objectives.rpoMs),
      rto: optionalDuration(config.objectives.rtoMs),
    },
    blue_green: {
      backup_schema: config.blueGreen.backupSchema,
      failed_schema: config.blueGreen.failedSchema,
    },
    verify: { smoke: [...config.verify.smoke] },
    overrides_in_effect: [...config.overridesInEffect],
  };
  // Smoke commands, paths and error messages are free text that may embed a URL: scrub them all.
  return redactDeep(described);
}

export { redactText, redactUrl } from "../redact.js";
