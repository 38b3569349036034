/**
 * One migration (up or down) as a step of a change plan: run its prepared script and record
 * it in history in the same transaction (or, for a no-transaction script, as it goes).
 */
import type { HistoryStore } from "../history/index.js";
import type { ChangeStep } from "../ops/execute.js";
import type { MigrationFile } from "./files.js";
import type { PreparedScript } from "./preflight.js";
import { type RunnerEvent, runScript } from "./runner.js";

/** What a migration step returns. */
export interface AppliedMigration {
  id: string;
  durationMs: number;
  noTransaction: boolean;
}

/**
 * One migration as a step of the plan: run the script, record it in the same transaction.
 * `checksum` is the checksum of `script.sql`, the text that runs (read once, with the lock held).
 */
export function migrationStep(
  script: PreparedScript,
  file: MigrationFile,
  checksum: string,
  statementLockTimeoutMs: number,
  opts: { onEvent?: ((e: RunnerEvent) => void) | undefined },
): ChangeStep<AppliedMigration> {
  return {
    id: script.id,
    mode: script.noTransaction ? "no-transaction" : "transactional",
    async run({ session, history, inOuterTransaction }) {
      const durationMs = await runScript(session, script, {
        history,
        name: file.name,
        checksum,
        statementLockTimeoutMs,
        inOuterTransaction,
        onEvent: opts.onEvent,
      });
      return { id: script.id, durationMs, noTransaction: script.noTransaction };
    },
    afterLoss: (history) => outcomeFromHistory(script, history),
  };
}

/**
 * What history says about a migration whose connection died while it ran. Its row commits
 * with a transactional migration, and a no-transaction one writes its row before starting, so
 * the row tells the truth.
 */
async function outcomeFromHistory(script: PreparedScript, history: HistoryStore): Promise<string> {
  const row = (await history.read()).find((r) => r.version === script.id);
  const id = script.id;
  if (row?.status === "failed") {
    return (
      `${id} ran outside a transaction and is recorded as failed (${row.error ?? "no note"}): check what it changed, ` +
      `then settle it with "confiture migrate resolve ${id} --rolled-back" (or --applied) before running "confiture migrate ${script.direction}" again`
    );
  }
  if (script.direction === "down") {
    return row
      ? `after reconnecting, history shows ${id} is still applied: nothing from this rollback was applied; run "confiture migrate down" again`
      : `after reconnecting, history shows ${id} was rolled back: it committed before the connection dropped`;
  }
  return row
    ? `after reconnecting, history shows it was applied: ${id} committed before the connection dropped; run "confiture migrate up" again for the rest`
    : `after reconnecting, history shows it was not applied: the server rolled ${id} back, so nothing from this migration was applied; run "confiture migrate up" again`;
}
