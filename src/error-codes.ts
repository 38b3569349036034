/**
 * The one list of error codes. Every failure Confiture reports has a stable `code` from
 * ERROR_CODES; the code decides the `category`, and the category decides the exit code
 * (EXIT_CODES, SPEC section 10). The README's error-code table is checked against this list.
 */

/** How a failure is classified; maps 1:1 to SPEC section 10 exit codes. */
export type ErrorCategory =
  | "failed" // 1: the operation failed
  | "usage" // 2: usage or configuration error
  | "check" // 3: a check found a problem
  | "locked" // 4: the migration lock is held by someone else
  | "connection"; // 5: cannot connect or authenticate

/** SPEC section 10: the one table from error category to process exit code. */
export const EXIT_CODES = {
  failed: 1,
  usage: 2,
  check: 3,
  locked: 4,
  connection: 5,
} as const satisfies Record<ErrorCategory, number>;

interface CodeInfo {
  category: ErrorCategory;
  /** One line for the README's error-code table. */
  meaning: string;
  /** Exit codes that replace the category's (signals). */
  exitCodes?: readonly number[];
}

/**
 * Every error code Confiture reports, with its category. A code that is not here cannot be
 * thrown (the constructors take `ErrorCode`), and a test holds the README's table to this list.
 */
export const ERROR_CODES = {
  USAGE: { category: "usage", meaning: "the command line does not make sense (bad flag or combination)" },
  CONFIG_INVALID: { category: "usage", meaning: "confiture.yaml or a variable is wrong; names key and line" },
  BAD_MIGRATION_NAME: {
    category: "usage",
    meaning: "`migrate generate` was given a name that cannot be a file",
  },
  DRY_RUN_NOT_POSSIBLE: {
    category: "usage",
    meaning: "`--dry-run` would have to run a no-transaction migration",
  },
  PROTECTED_ENVIRONMENT: { category: "usage", meaning: "a protected environment needs `--force` or a TTY" },
  NOT_CONFIRMED: { category: "usage", meaning: "the protected-environment confirmation was not given" },
  MIGRATION_NOT_FOUND: { category: "usage", meaning: "no migration has that id or version" },
  MIGRATION_FILE_INVALID: { category: "usage", meaning: "a migration file is unusable" },
  MIGRATIONS_DIR_MISSING: { category: "usage", meaning: "the migrations directory does not exist" },
  MIGRATION_BAD_NAME: {
    category: "usage",
    meaning: "a `.sql` file name does not fit `<version>_<name>.up.sql`",
  },
  MIGRATION_DUPLICATE_VERSION: { category: "usage", meaning: "two files share a numeric version" },
  MIGRATION_ORPHAN_DOWN: { category: "usage", meaning: "a `.down.sql` file has no `.up.sql`" },
  MIGRATION_NOT_UTF8: { category: "usage", meaning: "a migration file is not valid UTF-8" },
  MIGRATION_EMPTY: { category: "usage", meaning: "a migration file holds no statement" },
  MIGRATION_UNKNOWN_DIRECTIVE: { category: "usage", meaning: "a `-- confiture:` directive is not known" },
  MIGRATION_NEEDS_NO_TRANSACTION: {
    category: "usage",
    meaning: "a statement cannot run in a transaction and the file lacks the directive",
  },
  MIGRATION_TRANSACTION_CONTROL: {
    category: "usage",
    meaning: "BEGIN/COMMIT inside a transactional migration",
  },
  TOOL_NOT_FOUND: {
    category: "usage",
    meaning: "a PostgreSQL program (pg_dump, psql, ...) is not installed",
  },
  TOOL_TOO_OLD: { category: "usage", meaning: "a PostgreSQL program is older than the server" },
  PGDATA_INVALID: {
    category: "usage",
    meaning:
      "`pitr recover --pgdata` is not a PostgreSQL data directory (no PG_VERSION) or cannot be written",
  },
  PGDATA_RUNNING: {
    category: "usage",
    meaning: "`pitr recover --pgdata` names a data directory whose server is running; stop it first",
  },
  BASE_BACKUP_DIR_NOT_EMPTY: {
    category: "usage",
    meaning: "`pitr base-backup --dir` names a non-empty directory",
  },
  REPLICATION_REQUIRED: {
    category: "usage",
    meaning: "`pitr base-backup` needs a role with REPLICATION (or a superuser)",
  },
  RESTORE_FILE_NOT_FOUND: {
    category: "usage",
    meaning: "`restore` was given a dump that is neither a path nor a name in `backup.dir`",
  },
  RESTORE_TARGET_MISSING: {
    category: "usage",
    meaning: "`restore --target-db` names a database that does not exist (use `--create`)",
  },
  RESTORE_TARGET_NOT_EMPTY: {
    category: "usage",
    meaning:
      "`restore --target-db` names a database that holds objects; names them (`--force` restores on top)",
  },
  RESTORE_TABLE_INVALID: {
    category: "usage",
    meaning:
      "`restore --table` names a table missing from the database or the backup, or `missing-rows` lacks a primary key",
  },
  BACKUP_NOT_FOUND: {
    category: "usage",
    meaning:
      "`backup verify` was given a dump that does not exist, or `--latest` found no backup in `backup.dir`",
  },
  BACKUP_DIR_UNUSABLE: {
    category: "usage",
    meaning: "`backup.dir` cannot be created or written (a file, no permission, read-only)",
  },
  SCRATCH_UNAVAILABLE: {
    category: "usage",
    meaning: "the scratch database for the expected schema cannot be created or used; names `--scratch-url`",
  },
  HISTORY_NOT_EMPTY: {
    category: "usage",
    meaning: "`sync-history` was asked to rebuild a history that still has rows",
  },
  SCHEMA_DIR_EMPTY: {
    category: "usage",
    meaning: "`--against schema` and `schema_dir` holds no `.sql` file",
  },
  INCIDENT_NOT_FOUND: {
    category: "usage",
    meaning: "`incident log` found no ongoing incident in `incidents/` (or none with the given id)",
  },
  INCIDENT_FILE_EXISTS: { category: "usage", meaning: "`incident new --out FILE` names a file that exists" },
  INCIDENT_FILE_INVALID: { category: "usage", meaning: "an incident report has no `## Timeline` section" },
  CHECKSUM_MISMATCH: { category: "check", meaning: "an applied migration's file changed" },
  HISTORY_LOST: {
    category: "check",
    meaning:
      "the history is empty but the managed schema already holds objects (lost history, not a new database)",
  },
  DRIFT_DETECTED: { category: "check", meaning: "the live schema differs from the expected schema" },
  HISTORY_UNRESOLVED: {
    category: "check",
    meaning: "`sync-history` found no run of migrations that matches the live schema exactly",
  },
  HISTORY_TABLE_INVALID: {
    category: "check",
    meaning: "the tracking table lacks columns Confiture reads (made by hand, another tool, or damaged)",
  },
  FAILED_MIGRATION_PRESENT: { category: "check", meaning: "a migration is recorded as failed" },
  PITR_AT_RISK: {
    category: "check",
    meaning:
      "`pitr status`: the last archived WAL is older than `objectives.rpo` (point-in-time recovery would lose more)",
  },
  BACKUP_VERIFY_FAILED: {
    category: "check",
    meaning:
      "`backup verify` found a failing check (sha256, restore, history, fingerprint, row counts); one finding each",
  },
  BACKUP_METADATA_INVALID: {
    category: "check",
    meaning: "a backup's metadata file is missing, not JSON, or does not describe its dump",
  },
  MIGRATION_FILE_MISSING: { category: "check", meaning: "an applied migration's file is gone" },
  UNHEALTHY: {
    category: "check",
    meaning: "`health check` found a critical problem (including a server it cannot reach)",
  },
  VERIFY_FAILED: {
    category: "check",
    meaning:
      "`verify` found a failing checklist item, or its checklist is incomplete (the expected schema could not be built); one finding each",
  },
  LOCK_TIMEOUT: { category: "locked", meaning: "the migration lock was not released within `lock_timeout`" },
  LOCK_HOLDER_BUSY: { category: "locked", meaning: "`unlock` without `--force` and the holder is busy" },
  CONNECTION_FAILED: {
    category: "connection",
    meaning: "cannot connect or authenticate, or the database is missing",
  },
  CONNECTION_LOST: {
    category: "connection",
    meaning: "the connection died or stopped answering mid-command; says what is known of the outcome",
  },
  SERVER_READ_ONLY: {
    category: "connection",
    meaning: "the server is a read-only standby (or read-only by default); connect to the primary",
  },
  SQL_ERROR: { category: "failed", meaning: "PostgreSQL raised an error" },
  SQL_SYNTAX: { category: "failed", meaning: "the SQL parser rejected a text" },
  MIGRATION_SYNTAX_ERROR: { category: "failed", meaning: "a migration has a syntax error; nothing ran" },
  MIGRATION_FAILED: { category: "failed", meaning: "a migration failed at the server; names file and line" },
  REPLAY_FAILED: {
    category: "failed",
    meaning: "a migration failed when replayed into the scratch database (the expected schema)",
  },
  NO_DOWN_FILE: { category: "failed", meaning: "a migration to roll back has no down file" },
  UNLOCK_FAILED: { category: "failed", meaning: "the lock holder's session could not be terminated" },
  INCIDENT_FILE_BUSY: {
    category: "failed",
    meaning: "another `incident log` kept the report locked for 5 s; nothing was written",
  },
  TOOL_FAILED: { category: "failed", meaning: "a PostgreSQL program exited with an error" },
  BACKUP_DISK_FULL: {
    category: "failed",
    meaning: "the disk filled up while writing a backup; the partial files were removed",
  },
  RESTORE_TARGET_IN_USE: {
    category: "failed",
    meaning: "`restore` found other sessions connected to the target database; nothing was changed",
  },
  RESTORE_BLOCKED: {
    category: "failed",
    meaning:
      "`restore --table --mode replace` would delete rows other tables still reference; nothing was changed",
  },
  INTERRUPTED: {
    category: "failed",
    meaning: "SIGINT / SIGTERM during a command",
    exitCodes: [130, 143],
  },
  INTERNAL_ERROR: { category: "failed", meaning: "a bug: please report it with `--debug` output" },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of one category, e.g. `CodeOf<"check">`. */
export type CodeOf<C extends ErrorCategory> = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]["category"] extends C ? K : never;
}[ErrorCode];

/** The exit code for a category. */
export function exitCodeFor(category: ErrorCategory): number {
  return EXIT_CODES[category];
}
