/**
 * Splits a migration file into statements with PostgreSQL's own parser (libpg-query), so
 * dollar quotes, nested comments, E'' strings and `BEGIN ATOMIC` bodies are split exactly
 * as the server would read them. The parser speaks UTF-8 byte offsets; everything this
 * module returns is in JS string indices and 1-based file lines.
 */
import { SqlSyntaxError } from "../errors.js";
import {
  byteToCharIndexer,
  codePointToCharIndex,
  lineAt,
  lineStarts,
  tokenBounds,
  WHITESPACE,
} from "./scan.js";

/** One statement of a migration file. */
export interface SqlStatement {
  /** 0-based position in the file. */
  index: number;
  /**
   * The exact source text, from the statement's first token to the end of its last token:
   * leading and trailing whitespace and comments are dropped, the terminating `;` is not
   * included, comments inside the statement are kept. Send it to the server as it is.
   */
  text: string;
  /** 1-based line of the file where the first token starts. */
  startLine: number;
  /** JS string index (into the file content) of the first token; `text` starts here. */
  charStart: number;
  /** JS string index just past the last token: `text === sql.slice(charStart, charEnd)`. */
  charEnd: number;
  /** Parse node type, e.g. `"IndexStmt"`, `"CreateFunctionStmt"`, `"TransactionStmt"`. */
  node: string;
  /**
   * The libpg-query parse tree of the statement, `{ [node]: fields }`. Any `location`
   * inside it is a UTF-8 byte offset into the whole file, as the parser gave it.
   */
  ast: unknown;
}

/**
 * The largest text (UTF-8 bytes) handed to the parser. libpg-query runs PostgreSQL's parser in
 * WebAssembly with a 1 GiB heap that holds the parse tree and its JSON; past that it ends its
 * module (`Terminating process due to FATAL error`) and is unusable for the rest of the process.
 * Measured with libpg-query 17.7.4 (one file per process, the largest size that still parsed):
 * `select 1 order by a,a,a,...` 3.1 MB (the densest tree found), `select a,a,a,...` 4.6 MB,
 * `select 1;` repeated 10 MB (1.1 million statements), one-row INSERT statements repeated
 * 18 MB (720,000 statements). 2 MiB leaves a margin of 1.5x over the densest shape and 5x over
 * lists of statements.
 */
export const MAX_PARSED_BYTES = 2 * 1024 * 1024;

/**
 * The parser gave up without judging the SQL: the text is over MAX_PARSED_BYTES (`size`), the
 * parser ran out of memory (`memory`; libpg-query's module is unusable afterwards), or of stack
 * on deeply nested expressions (`nesting`).
 */
export class SqlParserLimitError extends Error {
  constructor(
    readonly limit: "size" | "memory" | "nesting",
    /** UTF-8 bytes of the text. */
    readonly bytes: number,
    options?: ErrorOptions,
  ) {
    super(PARSER_LIMIT_MESSAGES[limit], options);
    this.name = "SqlParserLimitError";
  }
}

const PARSER_LIMIT_MESSAGES = {
  size: `the text is larger than the ${MAX_PARSED_BYTES / 1024 / 1024} MB the SQL parser is known to handle`,
  memory: "the SQL parser ran out of memory",
  nesting: "the SQL parser ran out of stack (expressions nested too deeply)",
} as const;

let parserReady: Promise<void> | undefined;
/** Set once the module is loaded; `import()`ed lazily so commands that parse nothing start faster. */
let parseSync: (sql: string) => { stmts: RawStmt[] };

/** Loads the WASM parser once per process; a failed load is retried on the next call. */
function loadParser(): Promise<void> {
  parserReady ??= import("libpg-query")
    .then(async (mod) => {
      await mod.loadModule();
      parseSync = mod.parseSync as typeof parseSync;
    })
    .catch((error: unknown) => {
      parserReady = undefined;
      throw error;
    });
  return parserReady;
}

interface RawStmt {
  stmt: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

interface ParserErrorDetails {
  message: string;
  cursorPosition: number;
}

/**
 * Splits SQL text into statements. Whitespace- or comment-only input gives `[]`.
 *
 * @throws SqlSyntaxError with the 1-based file line when the parser rejects the text.
 * @throws SqlParserLimitError when the text is too large or too deeply nested to parse.
 * @example
 * const stmts = await splitSql("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);");
 * stmts.map((s) => [s.startLine, s.node]); // [[1, "CreateStmt"], [2, "IndexStmt"]]
 */
export async function splitSql(sql: string): Promise<SqlStatement[]> {
  // A BOM is not SQL; a space keeps every later JS index (and line) where it was.
  const source = sql.startsWith("\uFEFF") ? ` ${sql.slice(1)}` : sql;
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > MAX_PARSED_BYTES) throw new SqlParserLimitError("size", bytes);
  await loadParser();
  const lines = lineStarts(source);
  const nul = source.indexOf("\0");
  if (nul >= 0) {
    throw syntaxErrorAt(lines, nul, "NUL character in SQL text", "Is this a text file saved as UTF-8?");
  }
  if (source.trim() === "") return [];

  let raw: RawStmt[];
  try {
    raw = (parseSync(source) as { stmts: RawStmt[] }).stmts;
  } catch (error) {
    throw parserLimit(error, bytes) ?? toSyntaxError(error, source, lines);
  }

  const toChar = byteToCharIndexer(source);
  const statements: SqlStatement[] = [];
  for (const stmt of raw) {
    const byteStart = stmt.stmt_location ?? 0;
    const spanStart = toChar(byteStart);
    // A missing or zero length means "to the end of the input".
    const spanEnd = stmt.stmt_len ? toChar(byteStart + stmt.stmt_len) : source.length;
    const { first, end } = tokenBounds(source, spanStart, spanEnd);
    const node = Object.keys(stmt.stmt)[0] ?? "Unknown";
    const charEnd = verifiedEnd(source, first, end, spanEnd);
    if (node === "CopyStmt" && isCopyFromStdin(stmt.stmt)) {
      throw syntaxErrorAt(lines, first, "COPY ... FROM stdin is not supported", COPY_HINT);
    }
    statements.push({
      index: statements.length,
      text: sql.slice(first, charEnd),
      startLine: lineAt(lines, first),
      charStart: first,
      charEnd,
      node,
      ast: stmt.stmt,
    });
  }
  return statements;
}

/** 1-based line of the JS string index `index` in `text` (LF, CRLF and lone CR end a line). */
export function lineOfCharIndex(text: string, index: number): number {
  return lineAt(lineStarts(text), index);
}

const COPY_STDIN = "COPY ... FROM stdin is not supported";
const COPY_HINT =
  "Its data rows are psql input, not SQL: use INSERT statements, COPY FROM a file on the server, or load the data with psql";
const PSQL_HINT =
  "psql meta-commands (\\set, \\i, \\connect, ...) are not SQL and cannot be used in a migration";

function isCopyFromStdin(ast: Record<string, unknown>): boolean {
  const copy = ast.CopyStmt as { is_from?: boolean; filename?: string } | undefined;
  return copy?.is_from === true && copy.filename === undefined;
}

/**
 * A parser failure that says nothing about the SQL: libpg-query's module exiting on a FATAL
 * out-of-memory (an `ExitStatus` object, not an Error), a failed allocation, or a stack overflow.
 */
function parserLimit(error: unknown, bytes: number): SqlParserLimitError | undefined {
  if (error === null || typeof error !== "object" || "sqlDetails" in error) return undefined;
  const { name, message } = error as { name?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  if (error instanceof RangeError && /call stack/i.test(text)) {
    return new SqlParserLimitError("nesting", bytes, { cause: error });
  }
  if (
    name === "ExitStatus" ||
    name === "RuntimeError" || // WebAssembly.RuntimeError: an abort or a trap
    /Parse result is null|Failed to allocate|out of memory|Aborted\(/i.test(text)
  ) {
    return new SqlParserLimitError("memory", bytes, { cause: error });
  }
  return undefined;
}

/** Turns a libpg-query error into a SqlSyntaxError on the right line, with a hint when we can tell why. */
function toSyntaxError(error: unknown, source: string, lines: number[]): unknown {
  const details = (error as { sqlDetails?: ParserErrorDetails } | null)?.sqlDetails;
  if (details === undefined) return error;
  // cursorPosition is a 0-based code point offset (PostgreSQL counts characters, not bytes).
  const at = codePointToCharIndex(source, details.cursorPosition);
  // The data rows of COPY FROM stdin start on the line after it: is that where we are?
  const copyAt = copyFromStdinEndingAt(source, lines[lineAt(lines, at) - 1] ?? 0);
  if (copyAt !== undefined) return syntaxErrorAt(lines, copyAt, COPY_STDIN, COPY_HINT, error);
  const hint = source[at] === "\\" ? PSQL_HINT : undefined;
  return syntaxErrorAt(lines, at, shortenNearText(details.message), hint, error);
}

/** Index of the first token of a COPY FROM stdin that is the last statement of `source[0, end)`. */
function copyFromStdinEndingAt(source: string, end: number): number | undefined {
  const prefix = source.slice(0, end);
  if (prefix.trim() === "") return undefined;
  try {
    const last = (parseSync(prefix) as { stmts: RawStmt[] }).stmts.at(-1);
    if (last === undefined || !isCopyFromStdin(last.stmt)) return undefined;
    return tokenBounds(prefix, byteToCharIndexer(prefix)(last.stmt_location ?? 0), end).first;
  } catch {
    return undefined;
  }
}

/**
 * An unterminated string or comment makes the parser quote the rest of the file after
 * "at or near"; keep the first line of it, and at most 40 characters.
 */
function shortenNearText(message: string): string {
  const near = /^([\s\S]*? at or near ")([\s\S]*)"$/.exec(message);
  if (near === null) return message;
  const quoted = near[2] as string;
  const firstLine = quoted.split(/\r\n|\r|\n/)[0] as string;
  const short = Array.from(firstLine).slice(0, 40).join("");
  return short === quoted ? message : `${near[1]}${short}..."`;
}

function syntaxErrorAt(
  lines: number[],
  index: number,
  message: string,
  hint?: string,
  cause?: unknown,
): SqlSyntaxError {
  const line = lineAt(lines, index);
  const column = index - (lines[line - 1] ?? 0) + 1;
  return new SqlSyntaxError(message, { line, column }, hint, cause === undefined ? {} : { cause });
}

/**
 * Guards the token scanner (scan.ts): when it cut a trailing comment off, the cut text must parse to the
 * same tree as the uncut span, or we keep the uncut span (trimmed of whitespace only). Both
 * texts start at the same offset, so every `location` in the two trees compares equal.
 */
function verifiedEnd(source: string, first: number, end: number, spanEnd: number): number {
  let uncut = spanEnd;
  while (uncut > first && WHITESPACE.has(source[uncut - 1] as string)) uncut -= 1;
  if (end >= uncut) return end;
  try {
    const cut = JSON.stringify(parseSync(source.slice(first, end)).stmts);
    if (cut === JSON.stringify(parseSync(source.slice(first, uncut)).stmts)) return end;
  } catch {
    // fall through to the safe choice
  }
  return uncut;
}
