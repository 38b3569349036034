/**
 * `migrate status`: every migration with its state, read-only (takes no lock, creates nothing).
 */
import type { ConfitureConfig } from "../config/types.js";
import { type LockHolder, lockHolder } from "../db/advisory-lock.js";
import { withDatabase } from "../db/command-session.js";
import { readMigrations } from "./files.js";
import { checkChecksums } from "./history-checks.js";
import { readHistory, trackingTableExists } from "./tracking.js";

export type MigrationState =
  | "applied"
  | "pending"
  | "failed"
  | "baseline"
  | "reconstructed"
  | "missing file"
  | "checksum mismatch";

export interface MigrationStatusEntry {
  id: string;
  state: MigrationState;
  appliedAt: string | null;
  /** Checksum of the file on disk. */
  checksum: string | null;
  /** Checksum recorded in the tracking table. */
  recordedChecksum: string | null;
  executionMs: number | null;
  appliedBy: string | null;
  error: string | null;
  /** The recorded status when it is not one Confiture writes (hand-edited rows). */
  recordedStatus: string | null;
}

export interface StatusResult {
  database: string;
  schema: string;
  trackingTable: string;
  trackingTableExists: boolean;
  migrations: MigrationStatusEntry[];
  counts: Record<MigrationState, number>;
  /** True when something needs a person: failed, checksum mismatch, or missing file. */
  problems: boolean;
  lockHolder?: LockHolder | null;
  serverVersion?: string;
}

/**
 * Read the status of every migration.
 *
 * @example
 * const { migrations, problems } = await migrationStatus(config);
 */
export async function migrationStatus(
  config: ConfitureConfig,
  opts: { verbose?: boolean } = {},
): Promise<StatusResult> {
  const files = await readMigrations(config.migrationsDir);
  return withDatabase(config, "migrate status", { lock: false }, async ({ session, tables, lockKey }) => {
    const history = await readHistory(session, tables);
    const exists = history.length > 0 || (await trackingTableExists(session, tables));
    const rows = new Map(history.map((r) => [r.version, r]));
    const problemsById = new Map(checkChecksums(files, history).map((p) => [p.id, p]));
    const entries: MigrationStatusEntry[] = [];
    for (const f of files) {
      const row = rows.get(f.id);
      let state: MigrationState = "pending";
      if (row) {
        const p = problemsById.get(f.id);
        if (row.status === "failed") state = "failed";
        else if (p && (p.kind === "mismatch" || p.kind === "missing-checksum")) state = "checksum mismatch";
        else if (row.status === "baseline" || row.status === "reconstructed")
          state = row.status as MigrationState;
        else state = "applied";
      }
      entries.push({
        id: f.id,
        state,
        appliedAt: row ? row.appliedAt : null,
        checksum: f.checksum,
        recordedChecksum: row?.checksum ?? null,
        executionMs: row?.executionMs ?? null,
        appliedBy: row?.appliedBy ?? null,
        error: row?.error ?? null,
        recordedStatus: row ? row.status : null,
      });
    }
    const fileIds = new Set(files.map((f) => f.id));
    for (const row of history) {
      if (fileIds.has(row.version)) continue;
      entries.push({
        id: row.version,
        state: row.status === "failed" ? "failed" : "missing file",
        appliedAt: row.appliedAt,
        checksum: null,
        recordedChecksum: row.checksum,
        executionMs: row.executionMs,
        appliedBy: row.appliedBy,
        error: row.error,
        recordedStatus: row.status,
      });
    }
    const counts = {
      applied: 0,
      pending: 0,
      failed: 0,
      baseline: 0,
      reconstructed: 0,
      "missing file": 0,
      "checksum mismatch": 0,
    } as Record<MigrationState, number>;
    for (const e of entries) counts[e.state]++;
    const result: StatusResult = {
      database: session.database,
      schema: tables.schema,
      trackingTable: tables.trackingTable,
      trackingTableExists: exists,
      migrations: entries,
      counts,
      problems: counts.failed + counts["checksum mismatch"] + counts["missing file"] > 0,
    };
    if (opts.verbose) {
      result.lockHolder = (await lockHolder(session, lockKey)) ?? null;
      result.serverVersion = session.serverVersion;
    }
    return result;
  });
}
