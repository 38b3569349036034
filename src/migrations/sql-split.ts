/**
 * Splits a migration file into statements with PostgreSQL's own parser (libpg-query), so
 * dollar quotes, nested comments, E'' strings and `BEGIN ATOMIC` bodies are split exactly
 * as the server would read them. The parser speaks UTF-8 byte offsets; everything this
 * module returns is in JS string indices and 1-based file lines.
 */
import { ConfitureError, type ConfitureErrorOptions } from "../errors.js";

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

/** The file is not valid SQL (or uses something the tool cannot run, such as COPY FROM stdin). */
export class SqlSyntaxError extends ConfitureError {
  /** 1-based line of the error in the file. */
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
    super("SQL_SYNTAX", "failed", message, {
      ...options,
      details: { line: where.line, column: where.column, ...options.details },
    });
    this.line = where.line;
    this.column = where.column;
    this.parserMessage = parserMessage;
  }
}

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
 * @example
 * const stmts = await splitSql("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);");
 * stmts.map((s) => [s.startLine, s.node]); // [[1, "CreateStmt"], [2, "IndexStmt"]]
 */
export async function splitSql(sql: string): Promise<SqlStatement[]> {
  await loadParser();
  // A BOM is not SQL; a space keeps every later JS index (and line) where it was.
  const source = sql.startsWith("\uFEFF") ? ` ${sql.slice(1)}` : sql;
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
    throw toSyntaxError(error, source, lines);
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
 * Guards the lexer below: when it cut a trailing comment off, the cut text must parse to the
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

const WHITESPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);
const IDENT_START = /[A-Za-z_\u0080-\uFFFF]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

/**
 * Start of the first token and end of the last token in `text[from, to)`, skipping
 * whitespace and comments the way PostgreSQL's scanner does. The range was already accepted
 * by the parser, so only the shape of strings, quoted identifiers and comments matters here.
 */
function tokenBounds(text: string, from: number, to: number): { first: number; end: number } {
  let first = -1;
  let end = from;
  let i = from;
  while (i < to) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (WHITESPACE.has(c)) {
      i += 1;
      continue;
    }
    if (c === "-" && next === "-") {
      while (i < to && text[i] !== "\n" && text[i] !== "\r") i += 1;
      continue;
    }
    if (c === "/" && next === "*") {
      i = skipBlockComment(text, i, to);
      continue;
    }
    const start = i;
    if (c === "'") {
      const escapes = /[eE]/.test(text[i - 1] ?? "") && !IDENT_CONT.test(text[i - 2] ?? "");
      i = skipQuoted(text, i, to, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(text, i, to, '"', false);
    } else if (c === "$") {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(text)?.[0];
      if (tag !== undefined) {
        const close = text.indexOf(tag, i + tag.length);
        i = close < 0 || close + tag.length > to ? to : close + tag.length;
      } else {
        i += 1; // a parameter such as $1
      }
    } else if (IDENT_START.test(c)) {
      while (i < to && IDENT_CONT.test(text[i] as string)) i += 1;
    } else {
      i += 1;
    }
    if (first < 0) first = start;
    end = i;
  }
  return { first: first < 0 ? from : first, end };
}

function skipBlockComment(text: string, at: number, to: number): number {
  let depth = 0;
  let i = at;
  while (i < to) {
    if (text[i] === "/" && text[i + 1] === "*") {
      depth += 1;
      i += 2;
    } else if (text[i] === "*" && text[i + 1] === "/") {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return to;
}

/** Skips a '...' or "..." token starting at `at`; a doubled quote is an escaped quote. */
function skipQuoted(text: string, at: number, to: number, quote: string, backslashEscapes: boolean): number {
  let i = at + 1;
  while (i < to) {
    const c = text[i];
    if (backslashEscapes && c === "\\") {
      i += 2;
    } else if (c === quote) {
      if (text[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i += 1;
    }
  }
  return to;
}

/**
 * Returns a converter from UTF-8 byte offsets to JS string indices. Calls with growing
 * offsets are O(total length); emscripten encodes a lone surrogate as 3 bytes, as here.
 */
function byteToCharIndexer(text: string): (byte: number) => number {
  let char = 0;
  let bytes = 0;
  return (byte) => {
    if (byte < bytes) {
      char = 0;
      bytes = 0;
    }
    while (bytes < byte && char < text.length) {
      const code = text.codePointAt(char) as number;
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      char += code < 0x10000 ? 1 : 2;
    }
    return char;
  };
}

/** JS string index of the `points`-th (0-based) code point. */
function codePointToCharIndex(text: string, points: number): number {
  let char = 0;
  for (let n = 0; n < points && char < text.length; n += 1) {
    char += (text.codePointAt(char) as number) < 0x10000 ? 1 : 2;
  }
  return char;
}

/** JS index where each line starts; line N (1-based) starts at `starts[N - 1]`. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

function lineAt(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
