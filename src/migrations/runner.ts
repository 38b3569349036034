/**
 * Runs one prepared migration script against a session.
 *
 * Transactional scripts run in their own transaction together with the history change, so a
 * failure (or a killed process) leaves no trace in schema or history. No-transaction scripts
 * run statement by statement; their history row is written *first* as `failed` with an
 * "in progress" note and updated after each statement, so a crash leaves an honest record
 * that blocks `up` until someone settles it with `migrate resolve`.
 *
 * DDL runs under `statement_lock_timeout`; a lock timeout (55P03) is retried with backoff a
 * bounded number of times, so a migration never queues an ACCESS EXCLUSIVE lock in front of
 * production traffic indefinitely.
 */

import { migrationPrelude } from "../db/prelude.js";
import type { Session } from "../db/session.js";
import { retryOnLockTimeout } from "../db/with-session.js";
import { ConnectionLostError, MigrationFailedError, redactSecrets, SqlError } from "../errors.js";
import type { HistoryStore } from "../history/index.js";
import { codePointToCharIndex } from "../sql/scan.js";
import type { SqlStatement } from "../sql/split.js";
import { lineOfCharIndex } from "../sql/split.js";
import type { PreparedScript } from "./preflight.js";

/** Progress notes the runner emits; the CLI decides whether and how to show them. */
export type RunnerEvent =
  | { type: "lock-retry"; id: string; attempt: number; delayMs: number }
  | { type: "statement"; id: string; index: number; total: number };

export interface RunOptions {
  history: HistoryStore;
  statementLockTimeoutMs: number;
  /** Total attempts when a statement hits lock_timeout (1 = no retry); retryOnLockTimeout's default otherwise. */
  lockAttempts?: number;
  /** Base backoff in ms, doubled each retry. */
  backoffMs?: number;
  /** Transactional scripts only: run inside the caller's open transaction, no BEGIN/COMMIT. */
  inOuterTransaction?: boolean;
  /** Name of the migration (for the history row). */
  name: string;
  checksum: string;
  onEvent?: (e: RunnerEvent) => void;
}

/** Run a script and record it (up: write the row; down: delete it). Returns elapsed ms. */
export async function runScript(session: Session, script: PreparedScript, opts: RunOptions): Promise<number> {
  const started = performance.now();
  if (script.noTransaction) await runWithoutTransaction(session, script, opts, started);
  else await runInTransaction(session, script, opts);
  return Math.round(performance.now() - started);
}

function lockRetry(session: Session, script: PreparedScript, opts: RunOptions, attempts: number | undefined) {
  return {
    attempts,
    backoffMs: opts.backoffMs,
    canRetry: () => !session.closed,
    onRetry: ({ attempt, delayMs }: { attempt: number; delayMs: number }) =>
      opts.onEvent?.({ type: "lock-retry", id: script.id, attempt, delayMs }),
  };
}

async function runInTransaction(session: Session, script: PreparedScript, opts: RunOptions) {
  // The whole migration travels in one message: BEGIN, the transaction-local lock_timeout
  // (a computed integer, not user text), every statement, the history change and COMMIT.
  // One round trip per migration; the batch reports which statement failed, so errors still
  // name their line, and on any error the server skips the rest, COMMIT included.
  const prefix = migrationPrelude({
    begin: !opts.inOuterTransaction,
    lockTimeoutMs: opts.statementLockTimeoutMs,
    // pg_stat_activity shows the whole message, so name the migration where lock status looks.
    applicationName: `${session.applicationName} ${script.id}`,
  });
  const history = opts.history.inline(
    script.direction === "down"
      ? { kind: "deleted", version: script.id }
      : { kind: "applied", version: script.id, name: opts.name, checksum: opts.checksum },
  );
  const batch = [
    ...prefix,
    ...script.statements.map((s) => s.text),
    history,
    ...(opts.inOuterTransaction ? [] : ["commit"]),
  ];
  try {
    await retryOnLockTimeout(() => session.execBatch(batch), {
      ...lockRetry(session, script, opts, opts.inOuterTransaction ? 1 : opts.lockAttempts),
      afterFailure: async () => {
        if (!opts.inOuterTransaction) await session.query("rollback").catch(() => {});
      },
    });
  } catch (err) {
    // A lost connection says nothing about the outcome: the server may have committed the
    // message before it went. The caller finds out from history on a new connection.
    if (err instanceof ConnectionLostError) throw err;
    const index = err instanceof SqlError ? (err.statementIndex ?? -1) - prefix.length : -1;
    throw failure(script, script.statements[index], err, "transactional");
  }
}

async function runWithoutTransaction(
  session: Session,
  script: PreparedScript,
  opts: RunOptions,
  started: number,
) {
  const total = script.statements.length;
  const progress = (done: number) =>
    `${script.direction === "down" ? "rollback" : "migration"} in progress: ${done} of ${total} statements completed ` +
    `(outside a transaction) by session pid ${session.pid}; if this row is still here the run was interrupted`;
  const row = { version: script.id, name: opts.name, checksum: opts.checksum };
  // Written before the first statement: if the process dies, history says so.
  await opts.history.record({ ...row, executionMs: null, status: "failed", error: progress(0) });
  await session.query("select set_config('lock_timeout', $1, false)", [
    `${Math.max(1, Math.round(opts.statementLockTimeoutMs))}ms`,
  ]);
  try {
    for (const [i, stmt] of script.statements.entries()) {
      opts.onEvent?.({ type: "statement", id: script.id, index: i + 1, total });
      // A CONCURRENTLY build that timed out may leave an INVALID index behind; retrying would
      // only fail on "already exists", so those are not retried.
      const attempts = /\bconcurrently\b/i.test(stmt.text) ? 1 : opts.lockAttempts;
      try {
        await retryOnLockTimeout(() => session.exec(stmt.text), lockRetry(session, script, opts, attempts));
      } catch (err) {
        // History cannot be written on a dead connection; its "in progress" row tells the truth.
        if (err instanceof ConnectionLostError) throw err;
        const fail = failure(script, stmt, err, "no-transaction", i);
        const sqlstate = fail.sqlstate ? ` (${fail.sqlstate})` : "";
        const rawMessage = redactSecrets(err instanceof Error ? err.message : String(err));
        await opts.history
          .record({
            ...row,
            executionMs: Math.round(performance.now() - started),
            status: "failed",
            error: `${script.direction === "down" ? "rollback " : ""}statement ${i + 1} of ${total} failed at line ${fail.line ?? "?"}: ${rawMessage}${sqlstate}; ${i} of ${total} statements completed outside a transaction`,
          })
          .catch(() => {});
        throw fail;
      }
      await refuseOpenTransaction(session, script, stmt, i, opts, row, started);
      if (i + 1 < total) await opts.history.setNote(script.id, progress(i + 1));
    }
    if (script.direction === "down") await opts.history.remove(script.id);
    else {
      await opts.history.record({
        ...row,
        executionMs: Math.round(performance.now() - started),
        status: "applied",
        error: null,
      });
    }
  } finally {
    await session.query("reset lock_timeout").catch(() => {});
  }
}

/**
 * A no-transaction statement must leave the session outside a transaction: one left open
 * would be rolled back when the session ends, silently undoing what looked applied.
 */
async function refuseOpenTransaction(
  session: Session,
  script: PreparedScript,
  stmt: SqlStatement,
  index: number,
  opts: RunOptions,
  row: { version: string; name: string; checksum: string },
  started: number,
): Promise<void> {
  const status = session.transactionStatus();
  if (status === "idle" || status === "unknown") return;
  await session.query("rollback").catch(() => {});
  const total = script.statements.length;
  const what = `statement ${index + 1} of ${total} (line ${stmt.startLine}) left a transaction open, which was rolled back`;
  await opts.history
    .record({
      ...row,
      executionMs: Math.round(performance.now() - started),
      status: "failed",
      error: `${what}; ${index} of ${total} statements completed outside a transaction before it`,
    })
    .catch(() => {});
  throw new MigrationFailedError(
    `migration ${script.id} failed (${script.file}): ${what}. A no-transaction migration must not open transactions. ` +
      `It is recorded as failed: check what it changed, then run "confiture migrate resolve ${script.id} --rolled-back" (or --applied), fix the file, and run "confiture migrate up" again.`,
    { migration: script.id, file: script.file, line: stmt.startLine },
  );
}

/** Build the user-facing failure: file, line, SQLSTATE, and what to do next. */
function failure(
  script: PreparedScript,
  stmt: SqlStatement | undefined,
  err: unknown,
  mode: "transactional" | "no-transaction",
  completed = 0,
): MigrationFailedError {
  const sqlstate = err instanceof SqlError ? err.server.sqlstate : undefined;
  let line: number | undefined;
  if (stmt) {
    // The server's position counts characters (code points) from the start of the statement.
    const pos = err instanceof SqlError ? err.server.position : undefined;
    line = pos
      ? lineOfCharIndex(script.sql, stmt.charStart + codePointToCharIndex(stmt.text, pos - 1))
      : stmt.startLine;
  }
  const raw = redactSecrets(err instanceof Error ? err.message : String(err));
  const where = line ? ` at line ${line}` : "";
  const verb = script.direction === "down" ? "rollback of" : "migration";
  const head = `${verb} ${script.id} failed${where} (${script.file}): ${raw}${sqlstate ? ` (${sqlstate})` : ""}`;
  let next: string;
  if (mode === "transactional") {
    next = `Nothing from this ${script.direction === "down" ? "rollback" : "migration"} was applied; fix the file and run "confiture migrate ${script.direction}" again.`;
  } else {
    const total = script.statements.length;
    next =
      `It ran outside a transaction: ${completed} of ${total} statements took effect and it is recorded as failed. ` +
      `Clean up by hand, then run "confiture migrate resolve ${script.id} --rolled-back" (or --applied), fix the file, and run "confiture migrate up" again.`;
  }
  return new MigrationFailedError(`${head}. ${next}`, {
    migration: script.id,
    file: script.file,
    ...(line ? { line } : {}),
    ...(sqlstate ? { sqlstate } : {}),
  });
}
