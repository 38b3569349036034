/**
 * Pure comparisons between migration files and history rows. No I/O: callers read both.
 */
import type { MigrationFile } from "./files.js";
import type { AppliedRow } from "./tracking.js";

/** Rows with status `failed`: a no-transaction migration that did not finish. */
export function unsettledFailures(history: AppliedRow[]): AppliedRow[] {
  return history.filter((r) => r.status === "failed");
}

export interface ChecksumProblem {
  id: string;
  kind: "mismatch" | "missing-checksum" | "missing-file";
  recorded: string | null;
  actual: string | null;
}

/** Applied rows whose file changed, has no recorded checksum, or is gone. Failed rows are skipped. */
export function checkChecksums(files: MigrationFile[], history: AppliedRow[]): ChecksumProblem[] {
  const byId = new Map(files.map((f) => [f.id, f]));
  const problems: ChecksumProblem[] = [];
  for (const row of history) {
    if (row.status === "failed") continue;
    const file = byId.get(row.version);
    if (!file) {
      problems.push({ id: row.version, kind: "missing-file", recorded: row.checksum, actual: null });
    } else if (!row.checksum) {
      problems.push({ id: row.version, kind: "missing-checksum", recorded: null, actual: file.checksum });
    } else if (row.checksum !== file.checksum) {
      problems.push({ id: row.version, kind: "mismatch", recorded: row.checksum, actual: file.checksum });
    }
  }
  return problems;
}

/** Leading digits of an id as a number for ordering; ids without digits sort by time only. */
export function versionOf(id: string): bigint | undefined {
  const m = /^(\d+)/.exec(id);
  return m ? BigInt(m[1]!) : undefined;
}

/** History rows newest first: by numeric version, then applied_at. */
export function newestFirst(history: AppliedRow[]): AppliedRow[] {
  return [...history].sort((a, b) => {
    const va = versionOf(a.version);
    const vb = versionOf(b.version);
    if (va !== undefined && vb !== undefined && va !== vb) return va > vb ? -1 : 1;
    return a.appliedAt < b.appliedAt ? 1 : a.appliedAt > b.appliedAt ? -1 : 0;
  });
}
