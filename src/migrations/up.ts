/**
 * `migrate up`: apply pending migrations in order, each in its own transaction unless it says
 * `-- confiture:no-transaction`. Every pending script is validated before the first one runs.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { CheckFailedError, MigrationFailedError, UsageError } from "../errors.js";
import { runContext } from "../ops/context.js";
import { type ChangeStep, executeChange } from "../ops/execute.js";
import { checksumOf } from "./checksum.js";
import { findMigration, type MigrationFile, readMigrations, readSqlFile } from "./files.js";
import { checkChecksums, requireSettled } from "./history-checks.js";
import { ALREADY_EXISTS, ALREADY_EXISTS_NOTE, lostHistoryMessage, untrackedObjects } from "./lost-history.js";
import { type PreparedScript, prepareScript } from "./preflight.js";
import { createRestorePoint, type RestorePoint } from "./restore-point.js";
import type { RunnerEvent } from "./runner.js";
import { type AppliedMigration, migrationStep } from "./step.js";

export type { AppliedMigration };

export interface UpOptions {
  /** Apply up to and including this migration id (or version). */
  target?: string | undefined;
  /** Run inside one transaction that is rolled back, and report what would happen. */
  dryRun?: boolean | undefined;
  /** Refuse to start when an applied migration's file changed (default true; false skips the check). */
  verifyChecksums?: boolean | undefined;
  /**
   * Apply migrations even though the history is empty and the managed schema already holds
   * objects (by default that is refused as lost history, HISTORY_LOST).
   */
  adoptNonEmpty?: boolean | undefined;
  /**
   * Progress: `applying` as a migration starts, `applied` as soon as it is committed (in a dry
   * run: ran, to be rolled back with the rest), so a caller can report it whatever comes later.
   */
  onEvent?:
    | ((
        e:
          | RunnerEvent
          | { type: "applying"; id: string }
          | ({ type: "restore-point" } & RestorePoint)
          | ({ type: "applied"; dryRun: boolean } & AppliedMigration)
          | { type: "warning"; message: string },
      ) => void)
    | undefined;
}

export interface UpResult {
  dryRun: boolean;
  applied: AppliedMigration[];
  /** Migrations already applied before this run. */
  alreadyApplied: number;
  /** Pending migrations not applied because of --target. */
  remaining: string[];
  warnings: string[];
  /** The restore point made before the first migration, when the server archives WAL (null otherwise). */
  restorePoint: RestorePoint | null;
}

/**
 * Apply pending migrations.
 *
 * @example
 * const result = await migrateUp(await loadConfig({}), { target: "003_add_email" });
 */
export async function migrateUp(config: ConfitureConfig, opts: UpOptions = {}): Promise<UpResult> {
  const files = await readMigrations(config.migrationsDir, config);
  const target = opts.target ? findMigration(files, opts.target, "target") : undefined;
  const dryRun = opts.dryRun === true;
  const context = runContext(config, dryRun ? `${COMMANDS.migrateUp} --dry-run` : COMMANDS.migrateUp);
  const warnings: string[] = [];
  const remaining: string[] = [];
  let alreadyApplied = 0;
  let historyWasEmpty = false;
  let restorePoint: RestorePoint | null = null;
  /** The step, telling `applied` once it has run (committed, unless this is a dry run). */
  const announced = (step: ChangeStep<AppliedMigration>): ChangeStep<AppliedMigration> => ({
    ...step,
    async run(ctx) {
      const applied = await step.run(ctx);
      opts.onEvent?.({ type: "applied", dryRun, ...applied });
      return applied;
    },
  });
  const done = await executeChange<AppliedMigration>({
    context,
    dryRun,
    ensureHistory: "before-steps",
    async prepare({ session, history }) {
      const rows = await history.read();
      requireSettled(rows, "up");
      historyWasEmpty = rows.length === 0;
      // On by default, as Flyway's validate-on-migrate: an edited applied file means the
      // database and the repository disagree about what was applied.
      if (opts.verifyChecksums !== false) refuseChangedFiles(files, rows);
      const applied = new Set(rows.map((r) => r.version));
      alreadyApplied = applied.size;
      let pending = files.filter((f) => !applied.has(f.id));
      if (target) {
        remaining.push(...pending.filter((f) => f.version > target.version).map((f) => f.id));
        pending = pending.filter((f) => f.version <= target.version);
      }
      const newestApplied = files.filter((f) => applied.has(f.id)).at(-1);
      for (const f of pending) {
        if (newestApplied && f.version < newestApplied.version) {
          const message = `${f.id} is older than the newest applied migration ${newestApplied.id}; applying it out of order`;
          warnings.push(message);
          opts.onEvent?.({ type: "warning", message });
        }
      }
      if (historyWasEmpty && pending.length > 0 && opts.adoptNonEmpty !== true) {
        const found = await untrackedObjects(session, context.tables);
        if (found.count > 0) {
          throw new CheckFailedError(
            "HISTORY_LOST",
            `refusing to migrate: ${lostHistoryMessage(context.tables, found)}. Nothing was applied.`,
            { details: { untrackedObjects: found } },
          );
        }
      }
      const scripts = await prepareAll(pending, session.serverVersionNum);
      const steps = scripts.map(({ script, checksum }, i) =>
        announced(migrationStep(script, pending[i]!, checksum, context.statementLockTimeoutMs, opts)),
      );
      // Just before the first migration runs (the lock held, history tables there): a point to
      // recover to. Not in a dry run, which changes nothing.
      const first = steps[0];
      if (first !== undefined && !dryRun) {
        steps[0] = {
          ...first,
          async run(ctx) {
            const point = await createRestorePoint(ctx.session, ctx.history, context.environment, first.id);
            if (point !== undefined) {
              restorePoint = point;
              opts.onEvent?.({ type: "restore-point", ...point });
            }
            return first.run(ctx);
          },
        };
      }
      return steps;
    },
    refuseDryRun: (step) =>
      new UsageError(
        `--dry-run cannot run ${step.id}: it is a no-transaction migration, and its statements cannot be rolled back. ` +
          `Use --target to dry-run the migrations before it.`,
        "DRY_RUN_NOT_POSSIBLE",
      ),
    onStep: (step) => opts.onEvent?.({ type: "applying", id: step.id }),
    audit: {
      success: (ran) =>
        ran.length > 0 ? { applied: ran.map((a) => a.id), target: target?.id ?? null } : undefined,
      failure: (ran) => ({ applied: ran.map((a) => a.id) }),
    },
    annotateFailure: (failure, ran, dry) => {
      // "relation already exists" after starting from empty history: the advice is not to edit the file.
      const sqlstate = failure instanceof MigrationFailedError ? failure.sqlstate : undefined;
      const err =
        historyWasEmpty && sqlstate !== undefined && ALREADY_EXISTS.has(sqlstate)
          ? alreadyExists(failure as MigrationFailedError)
          : failure;
      if (ran.length === 0) return err;
      const ids = ran.map((a) => a.id);
      const note = dry
        ? ` (dry run: ${ids.join(", ")} ran before it; everything was rolled back)`
        : `${/[.!?]$/.test(err.message) ? "" : "."} Applied earlier in this run and kept: ${ids.join(", ")}.`;
      return err.withNote(note, { appliedBeforeFailure: ids });
    },
  });
  return { dryRun, applied: done.map((d) => d.result), alreadyApplied, remaining, warnings, restorePoint };
}

/** `--verify-checksums`: refuse before anything runs when an applied file changed. */
function refuseChangedFiles(files: MigrationFile[], rows: Parameters<typeof checkChecksums>[1]): void {
  const problems = checkChecksums(files, rows).filter((p) => p.kind !== "missing-file");
  if (problems.length === 0) return;
  throw new CheckFailedError(
    "CHECKSUM_MISMATCH",
    `refusing to migrate: ${problems.length} applied migration(s) changed since they were applied (${problems
      .map((p) => p.id)
      .join(
        ", ",
      )}); run "confiture migrate verify-checksums" for details. If the change is intended, accept it with ` +
      `"confiture migrate verify-checksums --repair ${problems[0]!.id}", or run "confiture migrate up --no-verify-checksums". Nothing was applied.`,
    { details: { mismatches: problems } },
  );
}

/**
 * Read and validate every pending file now, with the lock held: the text read here is the
 * text that runs and the text whose checksum is recorded, even if the file changed while
 * this run waited for the lock.
 */
async function prepareAll(
  pending: MigrationFile[],
  serverVersionNum: number,
): Promise<Array<{ script: PreparedScript; checksum: string }>> {
  const out: Array<{ script: PreparedScript; checksum: string }> = [];
  for (const f of pending) {
    const sql = await readSqlFile(f.upPath);
    out.push({
      script: await prepareScript(f.id, f.upPath, "up", sql, serverVersionNum),
      checksum: checksumOf(sql),
    });
  }
  return out;
}

/**
 * A migration failed on "already exists" after the run began with empty history: the file is
 * probably fine and the history was lost, so "fix the file" is replaced by that advice.
 */
function alreadyExists(failure: MigrationFailedError): MigrationFailedError {
  const message = failure.message.replace(/; fix the file and run "confiture migrate up" again\.$/, ".");
  return new MigrationFailedError(
    `${message}${ALREADY_EXISTS_NOTE}`,
    {
      migration: failure.migration,
      ...(failure.file !== undefined ? { file: failure.file } : {}),
      ...(failure.line !== undefined ? { line: failure.line } : {}),
      ...(failure.sqlstate !== undefined ? { sqlstate: failure.sqlstate } : {}),
    },
    { cause: failure.cause, ...(failure.details ? { details: failure.details } : {}) },
  );
}
