/**
 * Typed errors and the one list of error codes. Every failure a user can act on has a stable
 * `code` from ERROR_CODES; the code decides the `category`, and the category decides the exit
 * code (EXIT_CODES, SPEC section 10). Messages say what happened, to what, and what to do
 * next. They never contain a password: anything that may carry a URL goes through
 * `redactSecrets` before it is stored here. Errors are never changed after construction
 * (`withNote` returns a new one).
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
  CHECKSUM_MISMATCH: { category: "check", meaning: "an applied migration's file changed" },
  FAILED_MIGRATION_PRESENT: { category: "check", meaning: "a migration is recorded as failed" },
  MIGRATION_FILE_MISSING: { category: "check", meaning: "an applied migration's file is gone" },
  LOCK_TIMEOUT: { category: "locked", meaning: "the migration lock was not released within `lock_timeout`" },
  LOCK_HOLDER_BUSY: { category: "locked", meaning: "`unlock` without `--force` and the holder is busy" },
  CONNECTION_FAILED: {
    category: "connection",
    meaning: "cannot connect or authenticate, or the database is missing",
  },
  SQL_ERROR: { category: "failed", meaning: "PostgreSQL raised an error" },
  SQL_SYNTAX: { category: "failed", meaning: "the SQL parser rejected a text" },
  MIGRATION_SYNTAX_ERROR: { category: "failed", meaning: "a migration has a syntax error; nothing ran" },
  MIGRATION_FAILED: { category: "failed", meaning: "a migration failed at the server; names file and line" },
  NO_DOWN_FILE: { category: "failed", meaning: "a migration to roll back has no down file" },
  UNLOCK_FAILED: { category: "failed", meaning: "the lock holder's session could not be terminated" },
  TOOL_FAILED: { category: "failed", meaning: "a PostgreSQL program exited with an error" },
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

export { redactDeep, redactText as redactSecrets } from "./redact.js";
