/**
 * Typed errors. Every failure a user can act on has its own class with a stable `code`
 * and a `category`; the CLI maps categories to exit codes in one table (cli/exit-codes.ts).
 * Messages say what happened, to what, and what to do next. They never contain a password:
 * anything that may carry a URL goes through `redactSecrets` before it is stored here.
 */

/** How a failure is classified; maps 1:1 to SPEC section 10 exit codes. */
export type ErrorCategory =
  | "failed" // 1: the operation failed
  | "usage" // 2: usage or configuration error
  | "check" // 3: a check found a problem
  | "locked" // 4: the migration lock is held by someone else
  | "connection"; // 5: cannot connect or authenticate

export interface ConfitureErrorOptions {
  /** Extra machine-readable facts, printed in JSON output (must be secret-free). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error the library throws on purpose. */
export class ConfitureError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, category: ErrorCategory, message: string, options: ConfitureErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.category = category;
    this.details = options.details;
  }
}

/** confiture.yaml or the environment is wrong: unknown key, bad duration, unset ${VAR}, ... */
export class ConfigError extends ConfitureError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(
    message: string,
    where: { file?: string; line?: number; key?: string } = {},
    options: ConfitureErrorOptions = {},
  ) {
    super("CONFIG_INVALID", "usage", message, options);
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}

/** The command line or the request does not make sense (bad flag combination, unknown id). */
export class UsageError extends ConfitureError {
  constructor(message: string, code = "USAGE", options: ConfitureErrorOptions = {}) {
    super(code, "usage", message, options);
  }
}

/** A migration file or directory is unusable: bad name, duplicate version, not UTF-8, empty. */
export class MigrationFileError extends ConfitureError {
  readonly file: string | undefined;
  constructor(
    message: string,
    file?: string,
    code = "MIGRATION_FILE_INVALID",
    options: ConfitureErrorOptions = {},
  ) {
    super(code, "usage", message, options);
    this.file = file;
  }
}

/** Cannot reach or authenticate to the server, or the database does not exist. */
export class ConnectionError extends ConfitureError {
  constructor(message: string, code = "CONNECTION_FAILED", options: ConfitureErrorOptions = {}) {
    super(code, "connection", message, options);
  }
}

/** The migration lock is held by another session and lock_timeout ran out. */
export class LockTimeoutError extends ConfitureError {
  constructor(message: string, options: ConfitureErrorOptions = {}) {
    super("LOCK_TIMEOUT", "locked", message, options);
  }
}

/** A check found a problem: checksum mismatch, failed migration present, drift, ... */
export class CheckFailedError extends ConfitureError {
  constructor(code: string, message: string, options: ConfitureErrorOptions = {}) {
    super(code, "check", message, options);
  }
}

/** An operation failed part-way or at the server: SQL error in a migration, rollback failed. */
export class OperationFailedError extends ConfitureError {
  constructor(code: string, message: string, options: ConfitureErrorOptions = {}) {
    super(code, "failed", message, options);
  }
}

/** Every field PostgreSQL sent with an error, as far as it is useful to a person. */
export interface ServerErrorFields {
  sqlstate: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
  /** 1-based character offset into the statement text, when the server gave one. */
  position?: number | undefined;
  where?: string | undefined;
  schema?: string | undefined;
  table?: string | undefined;
  constraint?: string | undefined;
}

/** An error PostgreSQL raised while running a statement. Carries every server field. */
export class SqlError extends ConfitureError {
  readonly server: ServerErrorFields;
  /** For several statements sent together: which one failed (0-based); `server.position` is then relative to it. */
  statementIndex: number | undefined;
  constructor(message: string, server: ServerErrorFields, options: ConfitureErrorOptions = {}) {
    super("SQL_ERROR", "failed", message, options);
    this.server = server;
  }
}

/** A migration failed. Names the file, the line, the SQLSTATE and what to do next. */
export class MigrationFailedError extends ConfitureError {
  readonly migration: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly sqlstate: string | undefined;
  constructor(
    message: string,
    where: { migration: string; file?: string; line?: number; sqlstate?: string },
    options: ConfitureErrorOptions = {},
  ) {
    super("MIGRATION_FAILED", "failed", message, options);
    this.migration = where.migration;
    this.file = where.file;
    this.line = where.line;
    this.sqlstate = where.sqlstate;
  }
}

export { redactDeep, redactText as redactSecrets } from "./redact.js";
