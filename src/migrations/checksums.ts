/**
 * Checksums of applied migrations: print one (`migrate checksum`), compare them all with the
 * files (`verify-checksums`, a read-only check that returns a report), and accept one file's
 * new content (`verify-checksums --repair`, a recorded change).
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { inspect, runContext } from "../ops/context.js";
import { executeChange } from "../ops/execute.js";
import { type CheckReport, report } from "../ops/report.js";
import { checksumOf } from "./checksum.js";
import { findMigration, readMigrations, readSqlFile } from "./files.js";
import { type ChecksumProblem, checkChecksums } from "./history-checks.js";

/** `migrate checksum FILE|ID`: the checksum a file would be recorded with. No database needed. */
export async function migrationChecksum(
  config: ConfitureConfig,
  ref: string,
): Promise<{ id: string | null; file: string; checksum: string }> {
  const asPath = path.resolve(ref);
  const isFile = await stat(asPath).then(
    (s) => s.isFile(),
    () => false,
  );
  if (isFile) {
    const m = /^(\d+_[A-Za-z0-9][A-Za-z0-9_-]*)\.up\.sql$/.exec(path.basename(asPath));
    return { id: m ? m[1]! : null, file: asPath, checksum: checksumOf(await readSqlFile(asPath)) };
  }
  const files = await readMigrations(config.migrationsDir, config);
  const f = findMigration(files, ref);
  return { id: f.id, file: f.upPath, checksum: f.checksum };
}

export interface VerifyChecksumsResult {
  checked: number;
  problems: ChecksumProblem[];
  /** One critical finding per problem. */
  report: CheckReport;
}

const PROBLEM_TEXT: Record<ChecksumProblem["kind"], string> = {
  mismatch: "file changed since it was applied",
  "missing-checksum": "no checksum recorded",
  "missing-file": "file is missing",
};

/** Compare every recorded checksum with its file. Read-only. */
export async function verifyChecksums(config: ConfitureConfig): Promise<VerifyChecksumsResult> {
  const files = await readMigrations(config.migrationsDir, config);
  const history = await inspect(runContext(config, COMMANDS.migrateVerifyChecksums), (db) =>
    db.history.read(),
  );
  const problems = checkChecksums(files, history);
  return {
    checked: history.filter((r) => r.status !== "failed").length,
    problems,
    report: report(
      problems.map((p) => ({
        code: p.kind === "missing-file" ? "MIGRATION_FILE_MISSING" : "CHECKSUM_MISMATCH",
        severity: "critical",
        subject: p.id,
        message: `${p.id}: ${PROBLEM_TEXT[p.kind]}`,
      })),
      () =>
        `${problems.length} applied migration(s) do not match their files: ${problems.map((p) => `${p.id} (${p.kind})`).join(", ")}`,
      "CHECKSUM_MISMATCH",
    ),
  };
}

/** `verify-checksums --repair ID`: accept the file's current content as the applied one. */
export async function repairChecksum(
  config: ConfitureConfig,
  ref: string,
): Promise<{ id: string; previous: string | null; checksum: string }> {
  const files = await readMigrations(config.migrationsDir, config);
  const f = findMigration(files, ref);
  let previous: string | null = null;
  await executeChange({
    context: runContext(config, `${COMMANDS.migrateVerifyChecksums} --repair`),
    async prepare({ history }) {
      const row = (await history.read()).find((r) => r.version === f.id);
      if (!row || row.status === "failed") {
        throw new UsageError(
          `${f.id} is ${row ? "recorded as failed" : "not applied"}; --repair only updates the checksum of an applied migration`,
        );
      }
      previous = row.checksum;
      return [{ id: f.id, mode: "transactional", run: ({ history: h }) => h.setChecksum(f.id, f.checksum) }];
    },
    audit: {
      success: () => ({ migration: f.id, previous, checksum: f.checksum }),
      failure: () => ({ migration: f.id }),
    },
  });
  return { id: f.id, previous, checksum: f.checksum };
}
