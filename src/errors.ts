/**
 * Typed errors. Every failure a user can act on has its own class and a stable `code` from
 * ERROR_CODES (./error-codes.ts); the code decides the `category`, and the category decides the
 * exit code (EXIT_CODES, SPEC section 10). Messages say what happened, to what, and what to do
 * next. They never contain a password: anything that may carry a URL goes through
 * `redactSecrets` before it is stored here. Errors are never changed after construction
 * (`withNote` returns a new one).
 */

import { type CodeOf, ERROR_CODES, type ErrorCategory, type ErrorCode } from "./error-codes.js";

export * from "./error-codes.js";

export interface ConfitureErrorOptions {
  /** Extra machine-readable facts, printed in JSON output (must be secret-free). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error the library throws on purpose. */
export class ConfitureError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ConfitureErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.category = ERROR_CODES[code].category;
    this.details = options.details;
  }

  /**
   * A copy of this error (same class and fields) with `note` appended to its message and
   * `details` merged in. Errors are never changed after construction; callers that learn more
   * context (what ran before a failure) throw the copy instead.
   */
  withNote(note: string, details: Record<string, unknown> = {}): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.defineProperties(copy, Object.getOwnPropertyDescriptors(this));
    Object.defineProperty(copy, "message", { value: `${this.message}${note}`, configurable: true });
    Object.defineProperty(copy, "details", { value: { ...this.details, ...details }, enumerable: true });
    return copy;
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
    super("CONFIG_INVALID", message, options);
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}

/** The command line or the request does not make sense (bad flag combination, unknown id). */
export class UsageError extends ConfitureError {
  constructor(message: string, code: CodeOf<"usage"> = "USAGE", options: ConfitureErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A migration file or directory is unusable: bad name, duplicate version, not UTF-8, empty. */
export class MigrationFileError extends ConfitureError {
  readonly file: string | undefined;
  constructor(
    message: string,
    file?: string,
    code: CodeOf<"usage"> = "MIGRATION_FILE_INVALID",
    options: ConfitureErrorOptions = {},
  ) {
    super(code, message, options);
    this.file = file;
  }
}

/** Cannot reach or authenticate to the server, or the database does not exist. */
export class ConnectionError extends ConfitureError {
  constructor(
    message: string,
    code: CodeOf<"connection"> = "CONNECTION_FAILED",
    options: ConfitureErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/**
 * An open connection died or stopped answering in the middle of a command. `during` tells the
 * same loss with where it happened and what is known of the outcome (never assumed).
 */
export class ConnectionLostError extends ConnectionError {
  /** How messages name the server (no password). */
  readonly target: string;
  /** What happened to the connection, e.g. `no answer within 30s`. */
  readonly reason: string;
  constructor(target: string, reason: string, message?: string, options: ConfitureErrorOptions = {}) {
    super(message ?? `the connection to ${target} was lost (${reason})`, "CONNECTION_LOST", options);
    this.target = target;
    this.reason = reason;
  }

  /** The loss told with its phase (`taking the migration lock`) and what is known (`nothing was changed`). */
  during(phase: string, truth: string, details: Record<string, unknown> = {}): ConnectionLostError {
    return new ConnectionLostError(
      this.target,
      this.reason,
      `the connection to ${this.target} was lost while ${phase} (${this.reason}); ${truth}`,
      { details: { ...this.details, phase, ...details }, cause: this },
    );
  }
}

/** The migration lock is held by another session and lock_timeout ran out. */
export class LockTimeoutError extends ConfitureError {
  constructor(message: string, options: ConfitureErrorOptions = {}) {
    super("LOCK_TIMEOUT", message, options);
  }
}

/** A check found a problem: checksum mismatch, failed migration present, drift, ... */
export class CheckFailedError extends ConfitureError {
  constructor(code: CodeOf<"check">, message: string, options: ConfitureErrorOptions = {}) {
    super(code, message, options);
  }
}

/** An operation failed part-way or at the server: SQL error in a migration, rollback failed. */
export class OperationFailedError extends ConfitureError {
  constructor(code: CodeOf<"failed">, message: string, options: ConfitureErrorOptions = {}) {
    super(code, message, options);
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
  readonly statementIndex: number | undefined;
  constructor(
    message: string,
    server: ServerErrorFields,
    options: ConfitureErrorOptions & { statementIndex?: number } = {},
  ) {
    super("SQL_ERROR", message, options);
    this.server = server;
    this.statementIndex = options.statementIndex;
  }
}

/** SQL text is not valid (or uses something the tool cannot run, such as COPY FROM stdin). */
export class SqlSyntaxError extends ConfitureError {
  /** 1-based line of the error in the text. */
  readonly line: number;
  /** 1-based column of the error on that line, in JS characters. */
  readonly column: number;
  /** The parser's own message, without the line suffix, e.g. `syntax error at or near "SELEC"`. */
  readonly parserMessage: string;

  constructor(
    parserMessage: string,
    where: { line: number; column: number },
    hint?: string,
    options: ConfitureErrorOptions = {},
  ) {
    const message = `${parserMessage} (line ${where.line})${hint === undefined ? "" : `. ${hint}`}`;
    super("SQL_SYNTAX", message, {
      ...options,
      details: { line: where.line, column: where.column, ...options.details },
    });
    this.line = where.line;
    this.column = where.column;
    this.parserMessage = parserMessage;
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
    super("MIGRATION_FAILED", message, options);
    this.migration = where.migration;
    this.file = where.file;
    this.line = where.line;
    this.sqlstate = where.sqlstate;
  }
}

/** A PostgreSQL program (pg_dump, psql, ...) is missing, too old, or failed. */
export class ToolError extends ConfitureError {
  /** The program's name, e.g. `pg_dump`. */
  readonly tool: string;
  /** Its exit status when it ran and failed. */
  readonly exitStatus: number | undefined;
  constructor(
    code: "TOOL_NOT_FOUND" | "TOOL_TOO_OLD" | "TOOL_FAILED",
    tool: string,
    message: string,
    options: ConfitureErrorOptions & { exitStatus?: number } = {},
  ) {
    super(code, message, options);
    this.tool = tool;
    this.exitStatus = options.exitStatus;
  }
}

export { redactDeep, redactText as redactSecrets } from "./redact/index.js";
