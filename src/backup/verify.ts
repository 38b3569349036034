/**
 * `confiture backup verify [FILE|--latest] [--keep] [--jobs N] [--scratch-url URL]`: the
 * runbook's weekly restore test as one command. The dump's SHA-256 is checked first (a mismatch
 * stops there: a damaged dump is not restored); then it is restored into a scratch database
 * and the restored copy is held against its metadata: the migration history (and the checksums
 * against the project's files), the schema fingerprint, the row counts. The scratch database is
 * dropped whatever happened, unless `--keep`. The measured restore time and the outcome are
 * recorded in the configured database's `confiture_events`, and beside the dump in
 * `<dump>.verified.json`. Takes no lock: nothing of the configured database is changed but the
 * one event row.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { type ConnectionSpec, onDatabase } from "../db/connection-spec.js";
import { withSession } from "../db/with-session.js";
import { UsageError } from "../errors.js";
import { type HistoryTables, historyStore } from "../history/index.js";
import { readMigrations } from "../migrations/files.js";
import { runContext } from "../ops/context.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";
import { type ScratchDatabase, withScratchDatabase } from "../schema/index.js";
import { type BackupMetadata, writeBackupVerification } from "./metadata.js";
import {
  type BackupCheck,
  fingerprintCheck,
  historyCheck,
  managedModel,
  rowCountsCheck,
  sha256Check,
  skippedAfter,
} from "./verify-checks.js";
import {
  dropRestoredPublic,
  findPgRestore,
  refuseNonEmptyPublic,
  restoreInto,
  seconds,
} from "./verify-restore.js";
import { findVerifyTarget } from "./verify-target.js";

export type { BackupCheck, BackupCheckName, BackupCheckVerdict } from "./verify-checks.js";

export interface BackupVerifyOptions {
  /** The dump: a path, or a name in `backup.dir`. Exactly one of `file` and `latest`. */
  file?: string | undefined;
  /** The newest backup in `backup.dir`. */
  latest?: boolean | undefined;
  /** Leave the scratch database in place (its name is in the result). */
  keep?: boolean | undefined;
  /** pg_restore's `--jobs` (default 1). */
  jobs?: number | undefined;
  /** An existing, empty database to restore into instead of creating one (emptied afterwards). */
  scratchUrl?: string | undefined;
  onProgress?: ((message: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface BackupVerifyResult {
  /** Absolute path of the dump verified. */
  file: string;
  /** sha256, restore, history, fingerprint, row counts: in that order, each PASS / FAIL / SKIP. */
  checks: BackupCheck[];
  /** How long pg_restore ran (ms), also when it failed; null when it did not run. */
  restoreMs: number | null;
  /** The scratch database restored into; null when the restore did not start. */
  scratchDatabase: string | null;
  /** True when the scratch database was left in place (`keep`). */
  kept: boolean;
  /** What the user should know besides the checks (a scratch database not dropped, no event recorded, ...). */
  notes: string[];
  /** Whether the event was written to `confiture_events`. */
  eventRecorded: boolean;
  /** The `<dump>.verified.json` written, or null when it could not be. */
  verifiedFile: string | null;
  /** One BACKUP_VERIFY_FAILED finding per failing check. */
  report: CheckReport;
}

/**
 * Verify one backup by restoring it.
 * @example const r = await verifyBackup(config, { latest: true }); if (!r.report.ok) ...
 */
export async function verifyBackup(
  config: ConfitureConfig,
  opts: BackupVerifyOptions = {},
): Promise<BackupVerifyResult> {
  const started = performance.now();
  const jobs = checkJobs(opts.jobs);
  const target = await findVerifyTarget(config.backup.dir, opts);
  const meta = target.metadata;
  // Read before anything runs: a broken migrations directory is reported now, not after the restore.
  const files = await readMigrations(config.migrationsDir, config);
  const run = runContext(config, COMMANDS.backupVerify);
  const progress = opts.onProgress ?? (() => {});
  const live = run.connection;
  // A missing or too old pg_restore is found before a long SHA-256 over the dump.
  const server = await withSession(live, async (s) => ({
    serverVersion: s.serverVersion,
    serverVersionNum: s.serverVersionNum,
  }));
  if (opts.scratchUrl === undefined) await findPgRestore(server, meta);

  progress(`checking the SHA-256 of ${target.path}`);
  const checks: BackupCheck[] = [await sha256Check(target.path, meta)];
  const notes: string[] = [];
  let restoreMs: number | null = null;
  let scratchDatabase: string | null = null;
  let kept = false;
  if (checks[0]!.verdict === "FAIL") {
    checks.push(...skippedAfter("sha256", "not run: the dump does not match its metadata's SHA-256"));
  } else {
    const tables: HistoryTables = { schema: meta.schema, trackingTable: meta.migrations.trackingTable };
    const restoreAndCheck = async (scratch: ScratchDatabase): Promise<BackupCheck[]> => {
      const tool = await findPgRestore(scratch.session, meta);
      const connection: ConnectionSpec =
        opts.scratchUrl === undefined
          ? onDatabase(live, scratch.database)
          : { connectionString: opts.scratchUrl, applicationName: live.applicationName };
      progress(`restoring into ${scratch.database} (pg_restore --jobs ${jobs})`);
      const restored = await restoreInto({
        tool,
        dump: target.path,
        session: scratch.session,
        database: scratch.database,
        connection,
        schema: meta.schema,
        jobs,
        signal: opts.signal,
      });
      restoreMs = restored.restoreMs;
      if (restored.check.verdict === "FAIL")
        return [restored.check, ...skippedAfter("restore", "not run: the restore failed")];
      progress("checking the restored history, schema and row counts");
      const model = await managedModel(scratch.session, tables);
      return [
        restored.check,
        await historyCheck(scratch.session, tables, meta, files),
        await fingerprintCheck(model, meta, () =>
          withSession(live, (s) => managedModel(s, tables)).catch(() => null),
        ),
        await rowCountsCheck(scratch.session, model, meta),
      ];
    };
    const outcome = await withScratchDatabase(
      { live, scratchUrl: opts.scratchUrl, schema: meta.schema, keep: opts.keep },
      async (scratch) => {
        // A given database keeps its `public`: it must be empty, and is emptied again afterwards.
        const givenPublic = opts.scratchUrl !== undefined && meta.schema !== "public";
        if (givenPublic) await refuseNonEmptyPublic(scratch.session, scratch.database);
        try {
          return await restoreAndCheck(scratch);
        } finally {
          if (givenPublic && !opts.keep)
            await dropRestoredPublic(scratch.session).catch((err: unknown) =>
              notes.push(
                `what the restore put into schema public of ${scratch.database} could not be dropped (${(err as Error).message}); empty it by hand before its next use`,
              ),
            );
        }
      },
    );
    checks.push(...outcome.value);
    scratchDatabase = outcome.database;
    notes.push(...outcome.notes);
    kept = outcome.kept;
  }

  const ok = checks.every((c) => c.verdict !== "FAIL");
  const eventRecorded = await recordVerifyEvent(live, run.tables, run.environment, {
    ok,
    file: target.path,
    meta,
    checks,
    restoreMs,
    durationMs: Math.round(performance.now() - started),
    jobs,
    scratchDatabase,
    kept,
  });
  if (!eventRecorded)
    notes.push(
      `the outcome could not be recorded in ${run.tables.schema}.confiture_events of the configured database`,
    );
  const verifiedFile = await writeBackupVerification(target.path, {
    verifiedAt: new Date().toISOString(),
    ok,
    restoreMs: restoreMs ?? 0,
  }).catch((err: unknown) => {
    notes.push(`the verification record beside the dump could not be written: ${(err as Error).message}`);
    return null;
  });
  return {
    file: target.path,
    checks,
    restoreMs,
    scratchDatabase,
    kept,
    notes,
    eventRecorded,
    verifiedFile,
    report: verifyReport(checks, restoreMs),
  };
}

/** `--jobs`: a whole number of at least 1. */
function checkJobs(jobs: number | undefined): number {
  if (jobs === undefined) return 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024)
    throw new UsageError(`--jobs must be a whole number from 1 to 1024, got ${jobs}`);
  return jobs;
}

/** One finding per failing check; the report's message names them. */
function verifyReport(checks: BackupCheck[], restoreMs: number | null): CheckReport {
  const findings: Finding[] = checks
    .filter((c) => c.verdict === "FAIL")
    .map((c) => ({
      code: "BACKUP_VERIFY_FAILED",
      severity: "critical",
      subject: c.name,
      message: `${c.name}: ${c.evidence[0] ?? "failed"}`,
    }));
  return report(findings, (failed) => {
    const restore = restoreMs === null ? "" : ` (restore ran ${seconds(restoreMs)})`;
    return `backup verify failed: ${failed.map((f) => f.subject).join(", ")}${restore}; this backup cannot be trusted for a recovery. ${failed[0]!.message}`;
  });
}

/** The event in the configured database's confiture_events; never throws. */
async function recordVerifyEvent(
  live: ConnectionSpec,
  tables: HistoryTables,
  environment: string | undefined,
  e: {
    ok: boolean;
    file: string;
    meta: BackupMetadata;
    checks: BackupCheck[];
    restoreMs: number | null;
    durationMs: number;
    jobs: number;
    scratchDatabase: string | null;
    kept: boolean;
  },
): Promise<boolean> {
  const names = (v: BackupCheck["verdict"]) => e.checks.filter((c) => c.verdict === v).map((c) => c.name);
  return withSession(live, (session) =>
    historyStore(session, tables).recordEvent({
      command: COMMANDS.backupVerify,
      environment,
      outcome: e.ok ? "success" : "failed",
      details: {
        file: e.file,
        sha256: e.meta.sha256,
        sizeBytes: e.meta.sizeBytes,
        backupStartedAt: e.meta.startedAt,
        restoreMs: e.restoreMs,
        durationMs: e.durationMs,
        jobs: e.jobs,
        scratchDatabase: e.scratchDatabase,
        kept: e.kept,
        checks: { passed: names("PASS"), failed: names("FAIL"), skipped: names("SKIP") },
        failures: e.checks
          .filter((c) => c.verdict === "FAIL")
          .map((c) => `${c.name}: ${c.evidence[0] ?? ""}`),
      },
    }),
  ).catch(() => false);
}
