/**
 * The expected schema for verify: drift detection (schema/) replays the applied migrations into
 * a scratch database and compares. When that cannot be done (no CREATEDB privilege, a migration
 * that no longer replays, a --scratch-url that is not empty), the items resting on it are
 * skipped with the reason, and the rest of the checklist still runs.
 */
import type { ConfitureConfig } from "../config/index.js";
import { ConfitureError, ConnectionLostError } from "../errors.js";
import { detectDrift } from "../schema/index.js";
import { type Expected, oneLine } from "./verify-items.js";

/**
 * Build the expected schema and compare it with the live one.
 * @example const expected = await expectedSchema(config, { scratchUrl: undefined });
 */
export async function expectedSchema(
  config: ConfitureConfig,
  opts: { scratchUrl?: string | undefined; onProgress?: ((message: string) => void) | undefined },
): Promise<Expected> {
  try {
    const drift = await detectDrift(config, { scratchUrl: opts.scratchUrl, onProgress: opts.onProgress });
    return { known: true, differences: drift.differences, source: drift.expectedSource, notes: drift.notes };
  } catch (err) {
    // A lost connection to the database being verified is not a reason to skip: it ends the run.
    if (!(err instanceof ConfitureError) || err instanceof ConnectionLostError) throw err;
    const first = err.message.split("\n")[0] ?? err.message;
    // Where the scratch database is the problem, the way around it is --scratch-url; a
    // migration that no longer replays is not helped by another database.
    const hint =
      err.code === "SCRATCH_UNAVAILABLE" && !first.includes("--scratch-url")
        ? " (give an empty database to build it in with --scratch-url URL)"
        : "";
    return { known: false, reason: oneLine(`${first}${hint}`, 400) };
  }
}
