/**
 * One migration (up or down) as a step of a change plan: run its prepared script and record
 * it in history in the same transaction (or, for a no-transaction script, as it goes).
 */
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

/** One migration as a step of the plan: run the script, record it in the same transaction. */
export function migrationStep(
  script: PreparedScript,
  file: MigrationFile,
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
        checksum: file.checksum,
        statementLockTimeoutMs,
        inOuterTransaction,
        onEvent: opts.onEvent,
      });
      return { id: script.id, durationMs, noTransaction: script.noTransaction };
    },
  };
}
