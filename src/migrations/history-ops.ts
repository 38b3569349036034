/**
 * Commands that edit history without running migrations: baseline, resolve, checksum repair,
 * and the read-only checksum verification. Each change is recorded in confiture_events.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import type { ConfitureConfig } from "../config/types.js";
import { withDatabase } from "../db/command-session.js";
import { qualify } from "../db/identifiers.js";
import { UsageError } from "../errors.js";
import { type CheckReport, report } from "../ops/report.js";
import { checksumOf } from "./checksum.js";
import { findMigration, readMigrations, readSqlFile } from "./files.js";
import { type ChecksumProblem, checkChecksums } from "./history-checks.js";
import {
  deleteHistoryRow,
  ensureHistoryTables,
  readHistory,
  recordEvent,
  writeHistoryRow,
} from "./tracking.js";

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
  const files = await readMigrations(config.migrationsDir);
  const f = findMigration(files, ref);
  return { id: f.id, file: f.upPath, checksum: f.checksum };
}

export interface VerifyChecksumsResult {
  checked: number;
  problems: ChecksumProblem[];
  /** One critical finding per problem. */
  report: CheckReport;
}

/** Compare every recorded checksum with its file. Read-only. */
export async function verifyChecksums(config: ConfitureConfig): Promise<VerifyChecksumsResult> {
  const files = await readMigrations(config.migrationsDir);
  return withDatabase(config, "migrate verify-checksums", { lock: false }, async ({ session, tables }) => {
    const history = await readHistory(session, tables);
    const problems = checkChecksums(files, history);
    return {
      checked: history.filter((r) => r.status !== "failed").length,
      problems,
      report: report(
        problems.map((p) => ({
          code: p.kind === "missing-file" ? "MIGRATION_FILE_MISSING" : "CHECKSUM_MISMATCH",
          severity: "critical",
          subject: p.id,
          message: `${p.id}: ${p.kind === "missing-file" ? "file is missing" : p.kind === "missing-checksum" ? "no checksum recorded" : "file changed since it was applied"}`,
        })),
        () =>
          `${problems.length} applied migration(s) do not match their files: ${problems.map((p) => `${p.id} (${p.kind})`).join(", ")}`,
        "CHECKSUM_MISMATCH",
      ),
    };
  });
}

/** `verify-checksums --repair ID`: accept the file's current content as the applied one. */
export async function repairChecksum(
  config: ConfitureConfig,
  ref: string,
): Promise<{ id: string; previous: string | null; checksum: string }> {
  const files = await readMigrations(config.migrationsDir);
  const f = findMigration(files, ref);
  return withDatabase(
    config,
    "migrate verify-checksums --repair",
    { lock: true },
    async ({ session, tables }) => {
      const row = (await readHistory(session, tables)).find((r) => r.version === f.id);
      if (!row || row.status === "failed") {
        throw new UsageError(
          `${f.id} is ${row ? "recorded as failed" : "not applied"}; --repair only updates the checksum of an applied migration`,
        );
      }
      await session.query(
        `update ${qualify(tables.schema, tables.trackingTable)} set checksum = $2 where version = $1`,
        [f.id, f.checksum],
      );
      await recordEvent(session, tables, {
        command: "migrate verify-checksums --repair",
        environment: config.environment,
        outcome: "success",
        details: { migration: f.id, previous: row.checksum, checksum: f.checksum },
      });
      return { id: f.id, previous: row.checksum, checksum: f.checksum };
    },
  );
}

/** `migrate baseline --through ID`: mark migrations up to ID as applied without running them. */
export async function baseline(
  config: ConfitureConfig,
  through: string,
): Promise<{ baselined: string[]; skipped: string[] }> {
  const files = await readMigrations(config.migrationsDir);
  const last = findMigration(files, through, "--through");
  return withDatabase(config, "migrate baseline", { lock: true }, async ({ session, tables }) => {
    await ensureHistoryTables(session, tables);
    const have = new Set((await readHistory(session, tables)).map((r) => r.version));
    const baselined: string[] = [];
    const skipped: string[] = [];
    await session.exec("begin");
    try {
      for (const f of files) {
        if (f.version > last.version) break;
        if (have.has(f.id)) {
          skipped.push(f.id);
          continue;
        }
        await writeHistoryRow(session, tables, {
          version: f.id,
          name: f.name,
          checksum: f.checksum,
          executionMs: null,
          status: "baseline",
          error: null,
        });
        baselined.push(f.id);
      }
      await session.exec("commit");
    } catch (err) {
      await session.exec("rollback").catch(() => {});
      throw err;
    }
    await recordEvent(session, tables, {
      command: "migrate baseline",
      environment: config.environment,
      outcome: "success",
      details: { through: last.id, baselined, skipped },
    });
    return { baselined, skipped };
  });
}

/** `migrate resolve ID --applied|--rolled-back`: settle a failed no-transaction migration. */
export async function resolveFailed(
  config: ConfitureConfig,
  id: string,
  outcome: "applied" | "rolled-back",
): Promise<{ id: string; resolution: "applied" | "rolled-back"; previousError: string | null }> {
  const files = await readMigrations(config.migrationsDir);
  return withDatabase(config, "migrate resolve", { lock: true }, async ({ session, tables }) => {
    const history = await readHistory(session, tables);
    const file = files.find((f) => f.id === id) ?? (/^\d+$/.test(id) ? findMigration(files, id) : undefined);
    const version = file?.id ?? id;
    const row = history.find((r) => r.version === version);
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
    if (outcome === "rolled-back") {
      await deleteHistoryRow(session, tables, version);
    } else {
      await writeHistoryRow(session, tables, {
        version,
        name: file?.name ?? row.name ?? version,
        checksum: file?.checksum ?? row.checksum ?? "",
        executionMs: row.executionMs,
        status: "applied",
        error: null,
      });
    }
    await recordEvent(session, tables, {
      command: `migrate resolve --${outcome}`,
      environment: config.environment,
      outcome: "success",
      details: { migration: version, previousError: row.error },
    });
    return { id: version, resolution: outcome, previousError: row.error };
  });
}
