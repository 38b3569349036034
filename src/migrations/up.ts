/**
 * `migrate up`: apply pending migrations in order, each in its own transaction unless it says
 * `-- confiture:no-transaction`. Every pending script is validated before the first one runs.
 */
import type { ConfitureConfig } from "../config/types.js";
import { withDatabase } from "../db/command-session.js";
import { CheckFailedError, ConfitureError, MigrationFailedError, UsageError } from "../errors.js";
import { findMigration, type MigrationFile, readMigrations } from "./files.js";
import { checkChecksums, unsettledFailures } from "./history-checks.js";
import { type PreparedScript, prepareScript } from "./preflight.js";
import { type RunnerEvent, runScript } from "./runner.js";
import { ensureHistoryTables, failureEvent, readHistory, recordEvent } from "./tracking.js";

export interface UpOptions {
  /** Apply up to and including this migration id (or version). */
  target?: string | undefined;
  /** Run inside one transaction that is rolled back, and report what would happen. */
  dryRun?: boolean | undefined;
  /** Refuse to start when an applied migration's file changed. */
  verifyChecksums?: boolean | undefined;
  onEvent?:
    | ((e: RunnerEvent | { type: "applying"; id: string } | { type: "warning"; message: string }) => void)
    | undefined;
}

export interface AppliedMigration {
  id: string;
  durationMs: number;
  noTransaction: boolean;
}

export interface UpResult {
  dryRun: boolean;
  applied: AppliedMigration[];
  /** Migrations already applied before this run. */
  alreadyApplied: number;
  /** Pending migrations not applied because of --target. */
  remaining: string[];
  warnings: string[];
}

/**
 * Apply pending migrations.
 *
 * @example
 * const result = await migrateUp(await loadConfig({}), { target: "003_add_email" });
 */
export async function migrateUp(config: ConfitureConfig, opts: UpOptions = {}): Promise<UpResult> {
  const files = await readMigrations(config.migrationsDir);
  const target = opts.target ? findMigration(files, opts.target, "target") : undefined;
  const dryRun = opts.dryRun === true;
  return withDatabase(config, dryRun ? "migrate up --dry-run" : "migrate up", { lock: true }, async (ctx) => {
    const { session, tables } = ctx;
    const applied: AppliedMigration[] = [];
    const warnings: string[] = [];
    const warn = (message: string) => {
      warnings.push(message);
      opts.onEvent?.({ type: "warning", message });
    };
    let inDryRunTx = false;
    try {
      const history = await readHistory(session, tables);
      const failed = unsettledFailures(history);
      if (failed.length > 0) {
        const f = failed[0]!;
        throw new CheckFailedError(
          "FAILED_MIGRATION_PRESENT",
          `migration ${f.version} is recorded as failed (${f.error ?? "no error recorded"}) and must be settled first: ` +
            `check what it changed, clean up by hand, then run "confiture migrate resolve ${f.version} --rolled-back" ` +
            `(or --applied if it did complete), fix the file, and run "confiture migrate up" again.`,
          { details: { failed: failed.map((r) => r.version) } },
        );
      }
      if (opts.verifyChecksums) {
        const problems = checkChecksums(files, history).filter((p) => p.kind !== "missing-file");
        if (problems.length > 0) {
          throw new CheckFailedError(
            "CHECKSUM_MISMATCH",
            `refusing to migrate: ${problems.length} applied migration(s) changed since they were applied (${problems
              .map((p) => p.id)
              .join(", ")}); run "confiture migrate verify-checksums" for details. Nothing was applied.`,
            { details: { mismatches: problems } },
          );
        }
      }
      const done = new Set(history.map((r) => r.version));
      let pending = files.filter((f) => !done.has(f.id));
      const remaining: string[] = [];
      if (target) {
        const cut = pending.filter((f) => f.version > target.version);
        remaining.push(...cut.map((f) => f.id));
        pending = pending.filter((f) => f.version <= target.version);
      }
      const newestApplied = files.filter((f) => done.has(f.id)).at(-1);
      for (const f of pending) {
        if (newestApplied && f.version < newestApplied.version) {
          warn(
            `${f.id} is older than the newest applied migration ${newestApplied.id}; applying it out of order`,
          );
        }
      }
      const scripts = await prepareAll(pending, session.serverVersionNum);
      if (dryRun) {
        const nonTx = scripts.find((s) => s.noTransaction);
        if (nonTx) {
          throw new UsageError(
            `--dry-run cannot run ${nonTx.id}: it is a no-transaction migration, and its statements cannot be rolled back. ` +
              `Use --target to dry-run the migrations before it.`,
            "DRY_RUN_NOT_POSSIBLE",
          );
        }
      }
      // Only now, with every script validated, is anything created.
      if (dryRun) {
        await session.exec("begin");
        inDryRunTx = true;
      }
      await ensureHistoryTables(session, tables);
      for (const [i, script] of scripts.entries()) {
        const file = pending[i]!;
        opts.onEvent?.({ type: "applying", id: script.id });
        try {
          const durationMs = await runScript(session, script, {
            tables,
            name: file.name,
            checksum: file.checksum,
            statementLockTimeoutMs: config.statementLockTimeoutMs,
            inOuterTransaction: dryRun,
            onEvent: opts.onEvent,
          });
          applied.push({ id: script.id, durationMs, noTransaction: script.noTransaction });
        } catch (err) {
          if (err instanceof ConfitureError && applied.length > 0) {
            const ids = applied.map((a) => a.id);
            const note = dryRun
              ? ` (dry run: ${ids.join(", ")} ran before it; everything was rolled back)`
              : ` Applied earlier in this run and kept: ${ids.join(", ")}.`;
            Object.assign(err, {
              message: `${err.message}${note}`,
              details: { ...err.details, appliedBeforeFailure: ids },
            });
          }
          throw err;
        }
      }
      if (dryRun) {
        inDryRunTx = false;
        await session.exec("rollback");
      } else if (applied.length > 0) {
        await recordEvent(session, tables, {
          command: "migrate up",
          environment: config.environment,
          outcome: "success",
          details: { applied: applied.map((a) => a.id), target: target?.id ?? null },
        });
      }
      return { dryRun, applied, alreadyApplied: done.size, remaining, warnings };
    } catch (err) {
      if (inDryRunTx) await session.exec("rollback").catch(() => {});
      else if (applied.length > 0 || err instanceof MigrationFailedError) {
        await recordEvent(
          session,
          tables,
          failureEvent("migrate up", config.environment, { applied: applied.map((a) => a.id) }, err),
        );
      }
      throw err;
    }
  });
}

async function prepareAll(pending: MigrationFile[], serverVersionNum: number): Promise<PreparedScript[]> {
  const out: PreparedScript[] = [];
  for (const f of pending) out.push(await prepareScript(f.id, f.upPath, "up", f.upSql, serverVersionNum));
  return out;
}
