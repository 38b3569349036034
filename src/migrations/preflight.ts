/**
 * Checks every migration a run will execute *before* anything runs, so bad input changes
 * nothing: unknown directives, empty files, syntax errors, statements that cannot run in a
 * transaction without `-- confiture:no-transaction`, and transaction control that would break
 * the tool's own per-migration transaction.
 */
import { MigrationFileError, OperationFailedError, SqlSyntaxError } from "../errors.js";
import {
  findNonTransactional,
  findSessionTransactionControl,
  findTransactionControl,
  parseDirectives,
} from "../sql/analysis.js";
import { MAX_PARSED_BYTES, SqlParserLimitError, type SqlStatement, splitSql } from "../sql/split.js";

/** A migration script ready to run: its statements and how to run them. */
export interface PreparedScript {
  /** Migration id. */
  id: string;
  file: string;
  direction: "up" | "down";
  sql: string;
  statements: SqlStatement[];
  noTransaction: boolean;
}

export const NO_TRANSACTION_DIRECTIVE = "-- confiture:no-transaction";

/** Parse and validate one script; throws a typed error that names the file and line. */
export async function prepareScript(
  id: string,
  file: string,
  direction: "up" | "down",
  sql: string,
  serverVersionNum: number,
): Promise<PreparedScript> {
  const directives = parseDirectives(sql);
  if (directives.unknown.length > 0) {
    throw new MigrationFileError(
      `${file}: unknown directive "-- confiture:${directives.unknown[0]}"; the only directive is "${NO_TRANSACTION_DIRECTIVE}"`,
      file,
      "MIGRATION_UNKNOWN_DIRECTIVE",
    );
  }
  let statements: SqlStatement[];
  try {
    statements = await splitSql(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) {
      throw new OperationFailedError(
        "MIGRATION_SYNTAX_ERROR",
        `migration ${id} has a syntax error at ${file}:${err.line}: ${err.message.replace(/ \(line \d+\)$/, "")}. ` +
          `Nothing was applied; fix the file and run the command again.`,
        { details: { migration: id, file, line: err.line } },
      );
    }
    if (err instanceof SqlParserLimitError) throw parserLimitError(file, direction, err);
    throw err;
  }
  if (statements.length === 0) {
    throw new MigrationFileError(
      `${file} contains no SQL statements; write the migration or delete the file`,
      file,
      "MIGRATION_EMPTY",
    );
  }
  if (!directives.noTransaction) {
    const nonTx = findNonTransactional(statements, serverVersionNum)[0];
    if (nonTx) {
      throw new MigrationFileError(
        `${file}:${nonTx.statement.startLine}: ${nonTx.reason} cannot run inside a transaction; ` +
          `add "${NO_TRANSACTION_DIRECTIVE}" as the first line of the file so it runs statement by statement outside a transaction. Nothing was applied.`,
        file,
        "MIGRATION_NEEDS_NO_TRANSACTION",
      );
    }
    const control = findTransactionControl(statements)[0];
    if (control) {
      throw new MigrationFileError(
        `${file}:${control.statement.startLine}: ${control.reason} is not allowed in a migration: Confiture runs each migration in its own transaction. ` +
          `Remove it (or use "${NO_TRANSACTION_DIRECTIVE}"). Nothing was applied.`,
        file,
        "MIGRATION_TRANSACTION_CONTROL",
      );
    }
  }
  if (directives.noTransaction) {
    const control = findSessionTransactionControl(statements)[0];
    if (control) {
      throw new MigrationFileError(
        `${file}:${control.statement.startLine}: ${control.reason} is not allowed in a no-transaction migration: ` +
          `each statement runs on its own, and a transaction left open would be rolled back when the session ends. ` +
          `Remove it, or drop "${NO_TRANSACTION_DIRECTIVE}" so the file runs in one transaction. Nothing was applied.`,
        file,
        "MIGRATION_TRANSACTION_CONTROL",
      );
    }
  }
  return { id, file, direction, sql, statements, noTransaction: directives.noTransaction };
}

const MB = 1024 * 1024;

/** One line naming the file, what the parser could not do, and how to split the file. */
function parserLimitError(
  file: string,
  direction: "up" | "down",
  err: SqlParserLimitError,
): MigrationFileError {
  const nothing = direction === "up" ? "Nothing was applied." : "Nothing was rolled back.";
  const size = `${(err.bytes / MB).toFixed(1)} MB`;
  const limit = `${MAX_PARSED_BYTES / MB} MB`;
  const split =
    `split it into several migration files of at most ${limit} each, or load bulk data outside the migration ` +
    `(COPY ... FROM a file on the server, or psql's \\copy)`;
  const message = {
    size: `${file} is ${size}, larger than the ${limit} Confiture's SQL parser is known to handle (every migration is parsed before anything runs); ${split}. ${nothing}`,
    memory: `${file} (${size}) is too large or complex for Confiture's SQL parser, which ran out of memory; ${split}. ${nothing}`,
    nesting: `${file} nests expressions too deeply for Confiture's SQL parser, which ran out of stack; split the long expression (e.g. thousands of terms joined by + or AND) into smaller statements. ${nothing}`,
  }[err.limit];
  return new MigrationFileError(message, file, "MIGRATION_FILE_INVALID", {
    cause: err,
    details: { file, bytes: err.bytes, limitBytes: MAX_PARSED_BYTES },
  });
}
