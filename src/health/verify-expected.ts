/**
 * The expected schema for verify: drift detection (schema/) replays the applied migrations into
 * a scratch database and compares. When that cannot be done without `--scratch-url` (no
 * CREATEDB privilege, a standby, a migration that no longer replays), the items resting on it
 * are skipped with the reason and the rest of the checklist still runs (verify.ts then fails
 * the run as incomplete). A `--scratch-url` the user named that cannot be used (not a URL,
 * unreachable, not empty, the live database itself) is the command's error, as in
 * `migrate drift-detect`.
 */
import type { ConfitureConfig } from "../config/index.js";
import type { ConnectionSpec } from "../db/connection-spec.js";
import { openSession } from "../db/session.js";
import { type CodeOf, ConfitureError, ConnectionError, ConnectionLostError, UsageError } from "../errors.js";
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
    // A migration that no longer replays is not the scratch database's fault, nor helped by another.
    const replay = err.code === "REPLAY_FAILED";
    if (opts.scratchUrl !== undefined && !replay) throw namingScratchUrl(err);
    const first = err.message.split("\n")[0] ?? err.message;
    const hint =
      !replay && !first.includes("--scratch-url")
        ? " (give an empty database to build it in with --scratch-url URL)"
        : "";
    return { known: false, reason: oneLine(`${first}${hint}`, 400), scratchHelps: !replay };
  }
}

/**
 * Refuse a `--scratch-url` that is not a postgres:// URL, before anything is read. The URL is not
 * echoed: a malformed one may hold a password no pattern would recognise.
 */
export function checkScratchUrl(url: string | undefined): void {
  if (url === undefined) return;
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === "postgres:" || protocol === "postgresql:") return;
  throw new UsageError(
    `--scratch-url ${url === "" ? "is empty" : "is not a valid postgres:// URL"}: give the URL of an empty database ` +
      "to build the expected schema in (postgres://user@host:5432/dbname); it is not printed because it may contain a password",
    "SCRATCH_UNAVAILABLE",
  );
}

/**
 * Connect to the `--scratch-url` database and disconnect: before `--fix` changes anything, so a
 * scratch database that cannot be reached stops the run while nothing was repaired yet.
 */
export async function probeScratchUrl(url: string, live: ConnectionSpec): Promise<void> {
  const session = await openSession({
    connectionString: url,
    applicationName: `${live.applicationName} (scratch)`,
    connectTimeoutMs: live.connectTimeoutMs,
    queryTimeoutMs: live.queryTimeoutMs,
    source: "--scratch-url",
  }).catch((err: unknown) => {
    throw err instanceof ConfitureError ? namingScratchUrl(err) : err;
  });
  await session.close();
}

/** A connection error says it is about the `--scratch-url` database; others already do. */
function namingScratchUrl(err: ConfitureError): ConfitureError {
  if (!(err instanceof ConnectionError) || err.message.includes("--scratch-url")) return err;
  return new ConnectionError(`--scratch-url: ${err.message}`, err.code as CodeOf<"connection">, {
    details: err.details,
    cause: err,
  });
}
