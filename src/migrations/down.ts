/**
 * `migrate down`: run `.down.sql` files newest first. Everything is checked before the first
 * rollback runs: a migration without a down file stops the run before anything changes.
 */
import type { ConfitureConfig } from "../config/types.js";
import { withDatabase } from "../db/command-session.js";
import { CheckFailedError, MigrationFailedError, OperationFailedError, UsageError } from "../errors.js";
import { readMigrations, readSqlFile } from "./files.js";
import { newestFirst, unsettledFailures } from "./history-checks.js";
import { type PreparedScript, prepareScript } from "./preflight.js";
import { type RunnerEvent, runScript } from "./runner.js";
import { type AppliedRow, failureEvent, readHistory, recordEvent } from "./tracking.js";

export interface DownOptions {
  /** Roll back this many of the newest applied migrations. */
  steps?: number | undefined;
  /** Roll back every migration newer than this one (it stays applied). */
  target?: string | undefined;
  dryRun?: boolean | undefined;
  /** Skip the protected-environment confirmation. */
  force?: boolean | undefined;
  /**
   * Asked on protected environments when `force` is not set. Without it (no TTY), a protected
   * environment refuses. Resolve true to go ahead.
   */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
  onEvent?: ((e: RunnerEvent | { type: "rolling-back"; id: string }) => void) | undefined;
}

export interface DownResult {
  dryRun: boolean;
  rolledBack: Array<{ id: string; durationMs: number }>;
}

/**
 * Roll back migrations.
 *
 * @example
 * await migrateDown(config, { steps: 1, force: true });
 */
export async function migrateDown(config: ConfitureConfig, opts: DownOptions): Promise<DownResult> {
  if ((opts.steps === undefined) === (opts.target === undefined)) {
    throw new UsageError(
      'give exactly one of --steps N or --target ID, e.g. "confiture migrate down --steps 1"',
    );
  }
  if (opts.steps !== undefined && (!Number.isInteger(opts.steps) || opts.steps < 1)) {
    throw new UsageError(`--steps must be a whole number of at least 1 (got ${opts.steps})`);
  }
  // A dry run changes nothing, so it needs no confirmation even on a protected environment.
  if (opts.dryRun !== true) await requireProtectedConsent(config, opts);
  const files = await readMigrations(config.migrationsDir);
  const byId = new Map(files.map((f) => [f.id, f]));
  const dryRun = opts.dryRun === true;
  return withDatabase(
    config,
    dryRun ? "migrate down --dry-run" : "migrate down",
    { lock: true },
    async (ctx) => {
      const { session, tables } = ctx;
      const history = await readHistory(session, tables);
      const failed = unsettledFailures(history);
      if (failed.length > 0) {
        throw new CheckFailedError(
          "FAILED_MIGRATION_PRESENT",
          `migration ${failed[0]!.version} is recorded as failed; settle it with "confiture migrate resolve ${failed[0]!.version} --applied|--rolled-back" before rolling back`,
        );
      }
      const chosen = choose(newestFirst(history), opts);
      const scripts: PreparedScript[] = [];
      for (const row of chosen) {
        const file = byId.get(row.version);
        if (!file?.downPath) {
          throw new OperationFailedError(
            "NO_DOWN_FILE",
            file
              ? `${row.version} has no down file (${file.upPath.replace(/\.up\.sql$/, ".down.sql")}); write it to roll back, or restore from backup. Nothing was rolled back.`
              : `${row.version} is applied but its files are missing from ${config.migrationsDir}; restore them from Git to roll back. Nothing was rolled back.`,
            { details: { migration: row.version } },
          );
        }
        const sql = await readSqlFile(file.downPath);
        scripts.push(await prepareScript(file.id, file.downPath, "down", sql, session.serverVersionNum));
      }
      if (dryRun && scripts.some((s) => s.noTransaction)) {
        throw new UsageError(
          "--dry-run cannot run a no-transaction down file: its statements cannot be rolled back",
        );
      }
      const rolledBack: DownResult["rolledBack"] = [];
      if (dryRun) await session.exec("begin");
      try {
        for (const script of scripts) {
          opts.onEvent?.({ type: "rolling-back", id: script.id });
          const file = byId.get(script.id)!;
          const durationMs = await runScript(session, script, {
            tables,
            name: file.name,
            checksum: file.checksum,
            statementLockTimeoutMs: config.statementLockTimeoutMs,
            inOuterTransaction: dryRun,
            onEvent: opts.onEvent,
          });
          rolledBack.push({ id: script.id, durationMs });
        }
        if (dryRun) await session.exec("rollback");
        else {
          await recordEvent(session, tables, {
            command: "migrate down",
            environment: config.environment,
            outcome: "success",
            details: { rolledBack: rolledBack.map((r) => r.id), forced: opts.force === true },
          });
        }
        return { dryRun, rolledBack };
      } catch (err) {
        if (dryRun) await session.exec("rollback").catch(() => {});
        else if (err instanceof MigrationFailedError || rolledBack.length > 0) {
          await recordEvent(
            session,
            tables,
            failureEvent(
              "migrate down",
              config.environment,
              { rolledBack: rolledBack.map((r) => r.id) },
              err,
            ),
          );
        }
        throw err;
      }
    },
  );
}

function choose(newest: AppliedRow[], opts: DownOptions): AppliedRow[] {
  if (opts.steps !== undefined) {
    if (opts.steps > newest.length) {
      throw new UsageError(
        `cannot roll back ${opts.steps} migration(s): only ${newest.length} ${newest.length === 1 ? "is" : "are"} applied`,
      );
    }
    return newest.slice(0, opts.steps);
  }
  const ref = opts.target!;
  const idx = newest.findIndex(
    (r) => r.version === ref || (/^\d+$/.test(ref) && /^(\d+)/.exec(r.version)?.[1] === ref),
  );
  if (idx < 0) {
    throw new UsageError(
      `target "${ref}" is not an applied migration; run "confiture migrate status" to see which are applied`,
      "MIGRATION_NOT_FOUND",
    );
  }
  return newest.slice(0, idx);
}

/** Protected environments need --force or a confirmation typed at a terminal. */
export async function requireProtectedConsent(
  config: ConfitureConfig,
  opts: { force?: boolean | undefined; confirm?: ((q: string) => Promise<boolean>) | undefined },
): Promise<void> {
  if (!config.protected || opts.force) return;
  const env = config.environment ?? "this environment";
  if (!opts.confirm) {
    throw new UsageError(
      `environment "${env}" is protected: rolling back needs --force (or run it in a terminal to confirm interactively)`,
      "PROTECTED_ENVIRONMENT",
    );
  }
  const ok = await opts.confirm(`Environment "${env}" is protected. Type the environment name to continue: `);
  if (!ok) throw new UsageError("not confirmed; nothing was changed", "NOT_CONFIRMED");
}
