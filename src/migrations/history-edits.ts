/**
 * Commands that edit history without running migrations: `baseline` and `resolve`. Both go
 * through the one execution path (lock, audit event) like every other change.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import type { HistoryStore } from "../history/index.js";
import { runContext } from "../ops/context.js";
import { executeChange } from "../ops/execute.js";
import { findMigration, type MigrationFile, readMigrations } from "./files.js";

/**
 * Record migrations as in the database without running them (`baseline`, or `reconstructed` by
 * sync-history), with their files' checksums; returns their ids. Call inside a transaction.
 */
export async function recordWithoutRunning(
  history: HistoryStore,
  files: MigrationFile[],
  status: "baseline" | "reconstructed",
): Promise<string[]> {
  for (const f of files) {
    await history.record({
      version: f.id,
      name: f.name,
      checksum: f.checksum,
      executionMs: null,
      status,
      error: null,
    });
  }
  return files.map((f) => f.id);
}

/** `migrate baseline --through ID`: mark migrations up to ID as applied without running them. */
export async function baseline(
  config: ConfitureConfig,
  through: string,
): Promise<{ baselined: string[]; skipped: string[] }> {
  const files = await readMigrations(config.migrationsDir, config);
  const last = findMigration(files, through, "--through");
  const baselined: string[] = [];
  const skipped: string[] = [];
  await executeChange({
    context: runContext(config, COMMANDS.migrateBaseline),
    // An older or hand-made tracking table gets its missing columns before it is read.
    ensureHistory: "before-prepare",
    async prepare({ history }) {
      const have = new Set((await history.read()).map((r) => r.version));
      const marked = files.filter((f) => f.version <= last.version && !have.has(f.id));
      skipped.push(...files.filter((f) => f.version <= last.version && have.has(f.id)).map((f) => f.id));
      return [
        {
          id: `baseline through ${last.id}`,
          mode: "transactional",
          run: ({ history: h, inTransaction }) =>
            // All or nothing: a half-written baseline would hide which migrations really ran.
            inTransaction(async () => {
              baselined.push(...(await recordWithoutRunning(h, marked, "baseline")));
            }),
        },
      ];
    },
    audit: {
      success: () => ({ through: last.id, baselined, skipped }),
      failure: () => ({ through: last.id }),
    },
  });
  return { baselined, skipped };
}

/** `migrate resolve ID --applied|--rolled-back`: settle a failed no-transaction migration. */
export async function resolveFailed(
  config: ConfitureConfig,
  id: string,
  outcome: "applied" | "rolled-back",
): Promise<{ id: string; resolution: "applied" | "rolled-back"; previousError: string | null }> {
  const files = await readMigrations(config.migrationsDir, config);
  let version = id;
  let previousError: string | null = null;
  await executeChange({
    context: runContext(config, COMMANDS.migrateResolve),
    async prepare({ history }) {
      // Looked up with the lock held: the history row, not the file, is what must exist.
      const file =
        files.find((f) => f.id === id) ?? (/^\d+$/.test(id) ? findMigration(files, id) : undefined);
      version = file?.id ?? id;
      const row = (await history.read()).find((r) => r.version === version);
      if (!row) {
        throw new UsageError(
          `${version} has no history row; only a migration recorded as failed can be resolved`,
        );
      }
      if (row.status !== "failed") {
        throw new UsageError(
          `${version} is recorded as ${row.status}, not failed; there is nothing to resolve`,
        );
      }
      previousError = row.error;
      return [
        {
          id: version,
          mode: "transactional",
          async run({ history: h }) {
            if (outcome === "rolled-back") {
              await h.remove(version);
              return;
            }
            await h.record({
              version,
              name: file?.name ?? row.name ?? version,
              checksum: file?.checksum ?? row.checksum ?? "",
              executionMs: row.executionMs,
              status: "applied",
              error: null,
            });
          },
        },
      ];
    },
    audit: {
      command: `${COMMANDS.migrateResolve} --${outcome}`,
      success: () => ({ migration: version, previousError }),
      failure: () => ({ migration: version }),
    },
  });
  return { id: version, resolution: outcome, previousError };
}
