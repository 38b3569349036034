/**
 * `migrate status`: every migration with its state, read-only (takes no lock, creates nothing).
 */

import type { UserObjects } from "../catalog/index.js";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { type LockHolder, lockHolder } from "../db/advisory-lock.js";
import { inspect, runContext } from "../ops/context.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";
import { listMigrations, readListed } from "./files.js";
import { checkChecksums } from "./history-checks.js";
import { lostHistoryMessage, untrackedObjects } from "./lost-history.js";

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
  /** True when something needs a person: failed, checksum mismatch, missing file, or lost history. */
  problems: boolean;
  /** One finding per migration that needs a person, most serious kind first (lost history before all). */
  report: CheckReport;
  /**
   * Set when the history is empty but the managed schema already holds user objects (how many,
   * and the first few): lost history, not a new database. Null otherwise.
   */
  untrackedObjects: UserObjects | null;
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
  const listed = await listMigrations(config.migrationsDir, config);
  const run = runContext(config, COMMANDS.migrateStatus);
  const { tables, lockKey } = run;
  return inspect(run, async ({ session, history: store }) => {
    // The history query is sent first; the files are read and hashed while the server answers.
    const reading = store.read();
    reading.catch(() => {}); // awaited below; a file error thrown first must not leave it unobserved
    const files = readListed(listed);
    const history = await reading;
    const exists = history.length > 0 || (await store.exists());
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
    const findings = statusFindings(entries);
    // Empty history over a schema that already holds objects: lost history, not a new database.
    const untracked = history.length === 0 ? await untrackedObjects(session, tables) : undefined;
    const lost =
      untracked !== undefined && untracked.count > 0 ? lostHistoryMessage(tables, untracked) : undefined;
    if (lost !== undefined) {
      findings.unshift({ code: "HISTORY_LOST", severity: "critical", subject: tables.schema, message: lost });
    }
    const result: StatusResult = {
      database: session.database,
      schema: tables.schema,
      trackingTable: tables.trackingTable,
      trackingTableExists: exists,
      migrations: entries,
      counts,
      problems: findings.length > 0,
      untrackedObjects: lost !== undefined ? (untracked ?? null) : null,
      report: report(findings, () =>
        lost !== undefined
          ? lost
          : `${counts.failed} failed, ${counts["checksum mismatch"]} checksum mismatch(es), ${counts["missing file"]} missing file(s)`,
      ),
    };
    if (opts.verbose) {
      result.lockHolder = (await lockHolder(session, lockKey)) ?? null;
      result.serverVersion = session.serverVersion;
    }
    return result;
  });
}

/** Failed first, then changed files, then missing files: the first one names the report's failure. */
const FINDING_OF: Partial<Record<MigrationState, { code: Finding["code"]; rank: number; what: string }>> = {
  failed: { code: "FAILED_MIGRATION_PRESENT", rank: 0, what: "is recorded as failed" },
  "checksum mismatch": { code: "CHECKSUM_MISMATCH", rank: 1, what: "changed since it was applied" },
  "missing file": { code: "MIGRATION_FILE_MISSING", rank: 2, what: "is applied but its file is missing" },
};

function statusFindings(entries: MigrationStatusEntry[]): Finding[] {
  const found: Array<Finding & { rank: number }> = [];
  for (const e of entries) {
    const kind = FINDING_OF[e.state];
    if (!kind) continue;
    found.push({
      code: kind.code,
      severity: "critical",
      subject: e.id,
      message: `${e.id} ${kind.what}`,
      rank: kind.rank,
    });
  }
  return found.sort((a, b) => a.rank - b.rank).map(({ rank: _rank, ...f }) => f);
}
