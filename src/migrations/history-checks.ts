/**
 * What migration files and history rows say about each other, and the refusals that follow.
 * No I/O: callers read both.
 */
import { CheckFailedError } from "../errors.js";
import type { AppliedRow } from "../history/index.js";
import type { MigrationFile } from "./files.js";

/** Rows with status `failed`: a no-transaction migration that did not finish. */
function unsettledFailures(history: AppliedRow[]): AppliedRow[] {
  return history.filter((r) => r.status === "failed");
}

/**
 * Refuse to run migrations in either direction while one is recorded as failed: what it left
 * behind is unknown until a person settles it with `migrate resolve`.
 */
export function requireSettled(history: AppliedRow[], direction: "up" | "down"): void {
  const failed = unsettledFailures(history);
  const f = failed[0];
  if (f === undefined) return;
  if (direction === "down") {
    throw new CheckFailedError(
      "FAILED_MIGRATION_PRESENT",
      `migration ${f.version} is recorded as failed; settle it with "confiture migrate resolve ${f.version} --applied|--rolled-back" before rolling back`,
    );
  }
  throw new CheckFailedError(
    "FAILED_MIGRATION_PRESENT",
    `migration ${f.version} is recorded as failed (${f.error ?? "no error recorded"}) and must be settled first: ` +
      `check what it changed, clean up by hand, then run "confiture migrate resolve ${f.version} --rolled-back" ` +
      `(or --applied if it did complete), fix the file, and run "confiture migrate up" again.`,
    { details: { failed: failed.map((r) => r.version) } },
  );
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
