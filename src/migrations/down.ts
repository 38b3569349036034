/**
 * `migrate down`: run `.down.sql` files newest first. Everything is checked before the first
 * rollback runs: a migration without a down file stops the run before anything changes.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { OperationFailedError, UsageError } from "../errors.js";
import type { AppliedRow } from "../history/index.js";
import { runContext } from "../ops/context.js";
import { executeChange } from "../ops/execute.js";
import { readMigrations, readSqlFile } from "./files.js";
import { newestFirst, requireSettled } from "./history-checks.js";
import { type PreparedScript, prepareScript } from "./preflight.js";
import { describeImpact, type RollbackImpact, rollbackImpact, rowsAtRisk } from "./rollback-impact.js";
import type { RunnerEvent } from "./runner.js";
import { migrationStep } from "./step.js";

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
  onEvent?:
    | ((e: RunnerEvent | { type: "rolling-back"; id: string } | { type: "warning"; message: string }) => void)
    | undefined;
}

export interface DownResult {
  dryRun: boolean;
  rolledBack: Array<{ id: string; durationMs: number }>;
  /**
   * With `target`: the applied migration it named (an id, or a bare version resolved to its id),
   * which stays applied; null with `steps`. When `rolledBack` is empty, it is the newest applied.
   */
  target: string | null;
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
  const files = await readMigrations(config.migrationsDir, config);
  const byId = new Map(files.map((f) => [f.id, f]));
  const dryRun = opts.dryRun === true;
  const context = runContext(config, dryRun ? `${COMMANDS.migrateDown} --dry-run` : COMMANDS.migrateDown);
  const summary: ChooseSummary = { target: null };
  let impact: RollbackImpact[] = [];
  const done = await executeChange({
    context,
    dryRun,
    // A dry run changes nothing, so it needs no confirmation even on a protected environment.
    consent: {
      action: "rolling back",
      force: opts.force,
      confirm: opts.confirm,
      describe: () => describeImpact(impact),
    },
    async prepare({ session, history }) {
      const rows = await history.read();
      requireSettled(rows, "down");
      const steps = [];
      const scripts: PreparedScript[] = [];
      for (const row of choose(newestFirst(rows), opts, summary)) {
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
        const script = await prepareScript(file.id, file.downPath, "down", sql, session.serverVersionNum);
        scripts.push(script);
        steps.push(migrationStep(script, file, file.checksum, context.statementLockTimeoutMs, opts));
      }
      // What the rollback destroys is said before it runs: in the protected-environment
      // question, or as a warning anywhere else when rows would be lost.
      impact = await rollbackImpact(session, scripts);
      const risk = rowsAtRisk(impact);
      if (risk && !dryRun && !(context.protected && !opts.force)) {
        opts.onEvent?.({ type: "warning", message: `rolling back deletes data: ${risk}` });
      }
      return steps;
    },
    refuseDryRun: () =>
      new UsageError("--dry-run cannot run a no-transaction down file: its statements cannot be rolled back"),
    onStep: (step) => opts.onEvent?.({ type: "rolling-back", id: step.id }),
    audit: {
      success: (ran) =>
        ran.length > 0 ? { rolledBack: ran.map((r) => r.id), forced: opts.force === true } : undefined,
      failure: (ran) => ({ rolledBack: ran.map((r) => r.id) }),
    },
  });
  return {
    dryRun,
    rolledBack: done.map((d) => ({ id: d.id, durationMs: d.result.durationMs })),
    target: summary.target,
  };
}

/** What `choose` found, for the result: the applied migration `--target` named. */
interface ChooseSummary {
  target: string | null;
}

/**
 * The applied rows to roll back, newest first: the newest `steps`, or every row newer than
 * `target`. A target is an id or a bare version, exactly as for `up --target` (`1` is the
 * migration whose numeric version is 1, e.g. `001_a`), and must be applied.
 */
function choose(newest: AppliedRow[], opts: DownOptions, summary: ChooseSummary): AppliedRow[] {
  if (opts.steps !== undefined) {
    if (opts.steps > newest.length) {
      throw new UsageError(
        `cannot roll back ${opts.steps} migration(s): only ${newest.length} ${newest.length === 1 ? "is" : "are"} applied`,
      );
    }
    return newest.slice(0, opts.steps);
  }
  const ref = opts.target!;
  let idx = newest.findIndex((r) => r.version === ref);
  if (idx < 0 && /^\d+$/.test(ref)) {
    const version = BigInt(ref);
    idx = newest.findIndex((r) => {
      const digits = /^(\d+)(?:_|$)/.exec(r.version)?.[1];
      return digits !== undefined && BigInt(digits) === version;
    });
  }
  if (idx < 0) {
    throw new UsageError(
      `target "${ref}" is not an applied migration; run "confiture migrate status" to see which are applied`,
      "MIGRATION_NOT_FOUND",
    );
  }
  summary.target = newest[idx]!.version;
  return newest.slice(0, idx);
}
