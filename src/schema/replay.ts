/**
 * Replaying SQL into the scratch database: migrations as `up` runs them (a transactional file in
 * one transaction, a `no-transaction` file statement by statement), or the `db/schema/` files
 * statement by statement. No history is written there: the scratch database only has to end up
 * with the schema. A statement that fails is a REPLAY_FAILED error naming the file and line.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Session } from "../db/session.js";
import { OperationFailedError, redactSecrets, SqlError, SqlSyntaxError, UsageError } from "../errors.js";
import type { MigrationFile } from "../migrations/files.js";
import { prepareScript } from "../migrations/preflight.js";
import { codePointToCharIndex } from "../sql/scan.js";
import { lineOfCharIndex, type SqlStatement, splitSql } from "../sql/split.js";

/** One migration into the scratch database. */
export async function replayMigration(session: Session, file: MigrationFile): Promise<void> {
  const script = await prepareScript(file.id, file.upPath, "up", file.upSql, session.serverVersionNum);
  if (script.noTransaction) {
    for (const stmt of script.statements)
      await run(session, file.id, file.upPath, script.sql, stmt, () => session.exec(stmt.text));
    return;
  }
  try {
    await session.execBatch(["begin", ...script.statements.map((s) => s.text), "commit"]);
  } catch (err) {
    await session.query("rollback").catch(() => {});
    const index = err instanceof SqlError ? (err.statementIndex ?? 0) - 1 : -1;
    throw replayError(file.id, file.upPath, script.sql, script.statements[index], err);
  }
}

/** The `.sql` files of `db/schema/`, in path order (subdirectories included). */
export async function schemaFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })) as string[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    entries = [];
  }
  const files = entries.filter((e) => e.endsWith(".sql")).sort();
  if (files.length === 0) {
    throw new UsageError(
      `--against schema: ${dir} holds no .sql file; write the expected schema there (schema_dir in confiture.yaml), or compare against the migrations (the default)`,
      "SCHEMA_DIR_EMPTY",
    );
  }
  return files.map((f) => join(dir, f));
}

/** One `db/schema/` file, statement by statement. */
export async function replaySchemaFile(session: Session, path: string, projectDir: string): Promise<void> {
  const sql = (await readFile(path, "utf8")).replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  const shown = relative(projectDir, path) || path;
  let statements: SqlStatement[];
  try {
    statements = await splitSql(sql);
  } catch (err) {
    if (!(err instanceof SqlSyntaxError)) throw err;
    throw new OperationFailedError(
      "REPLAY_FAILED",
      `${shown}:${err.line}: ${err.message.replace(/ \(line \d+\)$/, "")}. The expected schema cannot be built, so nothing was compared`,
      { cause: err, details: { file: shown, line: err.line } },
    );
  }
  for (const stmt of statements) await run(session, shown, shown, sql, stmt, () => session.exec(stmt.text));
}

async function run(
  session: Session,
  what: string,
  file: string,
  sql: string,
  stmt: SqlStatement,
  exec: () => Promise<void>,
): Promise<void> {
  try {
    await exec();
  } catch (err) {
    if (session.transactionStatus() !== "idle") await session.query("rollback").catch(() => {});
    throw replayError(what, file, sql, stmt, err);
  }
}

function replayError(
  what: string,
  file: string,
  sql: string,
  stmt: SqlStatement | undefined,
  err: unknown,
): unknown {
  if (!(err instanceof SqlError)) return err;
  let line = stmt?.startLine;
  const pos = err.server.position;
  if (stmt && pos) line = lineOfCharIndex(sql, stmt.charStart + codePointToCharIndex(stmt.text, pos - 1));
  const state = err.server.sqlstate;
  const roleHint =
    state === "42710" && /\brole\b/i.test(err.message)
      ? " Roles are shared by every database of a server, so a migration that creates one cannot be replayed next to the live database; use --scratch-url on another server."
      : "";
  return new OperationFailedError(
    "REPLAY_FAILED",
    `${what} failed when replayed into the scratch database (${file}${line ? `:${line}` : ""}): ` +
      `${redactSecrets(err.message)}${state ? ` (${state})` : ""}. The expected schema cannot be built, so nothing was compared.${roleHint}`,
    {
      cause: err,
      details: { migration: what, file, ...(line ? { line } : {}), ...(state ? { sqlstate: state } : {}) },
    },
  );
}
