/**
 * The one execution path for commands that change a database or its history. A command
 * describes a plan — what to check with the lock held, and the steps to run — and
 * `executeChange` does the rest in a fixed order, the same for every command:
 *
 *   consent (protected environments) -> session -> migration lock -> prepare (read state,
 *   refuse, build steps; nothing changes yet) -> [dry run: BEGIN] -> history tables ->
 *   steps, each announced -> [dry run: ROLLBACK] -> audit event (success or failure)
 *
 * Steps are `transactional` (they may run inside the dry-run transaction), `no-transaction`
 * (statements outside any transaction: never dry-run), or `tool` (an external program: never
 * dry-run). Migrations, baseline, resolve and checksum repair run through here; restore and
 * blue-green will.
 */
import { withMigrationLock } from "../db/advisory-lock.js";
import type { Session } from "../db/session.js";
import { withSession, withTransaction } from "../db/with-session.js";
import { ConfitureError, UsageError } from "../errors.js";
import { failureEvent, type HistoryStore, historyStore } from "../history/index.js";
import { type ConsentOptions, requireConsent } from "./consent.js";
import type { RunContext } from "./context.js";

export type StepMode = "transactional" | "no-transaction" | "tool";

/** What a step runs against. */
export interface StepContext {
  session: Session;
  history: HistoryStore;
  /** True in a dry run: the step runs inside the plan's transaction and must not BEGIN or COMMIT. */
  inOuterTransaction: boolean;
  /** Run `fn` in a transaction of its own, or inside the dry-run transaction when there is one. */
  inTransaction<T>(fn: () => Promise<T>): Promise<T>;
}

/** One unit of change, e.g. one migration. */
export interface ChangeStep<R> {
  /** What progress and audit name, e.g. the migration id. */
  id: string;
  mode: StepMode;
  run(ctx: StepContext): Promise<R>;
}

/** A step that ran, and what it returned. */
export interface StepDone<R> {
  id: string;
  result: R;
}

export interface ChangePlan<R> {
  context: RunContext;
  /** Run every step inside one transaction that is rolled back. */
  dryRun?: boolean | undefined;
  /** Ask for consent on protected environments (not in a dry run): `action` says what, e.g. "rolling back". */
  consent?: (ConsentOptions & { action: string }) | undefined;
  /**
   * Create the history tables when missing (and add columns an older table lacks): before
   * `prepare` when it must read a complete history, or only once every step is prepared.
   */
  ensureHistory?: "before-prepare" | "before-steps" | undefined;
  /** With the lock held and before anything changes: read state, refuse what must be refused, return the steps. */
  prepare(db: { session: Session; history: HistoryStore }): Promise<Array<ChangeStep<R>>>;
  /** The error for a step that cannot be dry-run (default: a generic USAGE error). */
  refuseDryRun?: ((step: ChangeStep<R>) => ConfitureError) | undefined;
  /** Told as each step starts (progress). */
  onStep?: ((step: ChangeStep<R>, index: number, total: number) => void) | undefined;
  /** The audit event. `command` defaults to the context's command; a function is asked when the event is written. */
  audit: {
    command?: string | (() => string);
    /** Details of the success event; undefined records none (nothing changed). */
    success(done: Array<StepDone<R>>): Record<string, unknown> | undefined;
    /** Details of the failure event, recorded when a step had started. */
    failure(done: Array<StepDone<R>>): Record<string, unknown>;
  };
  /** Add what the caller knows to a failure (e.g. which steps ran before it); returns a new error. */
  annotateFailure?:
    | ((err: ConfitureError, done: Array<StepDone<R>>, dryRun: boolean) => ConfitureError)
    | undefined;
}

/**
 * Execute a plan; returns the steps that ran (in a dry run: ran and were rolled back).
 * @example const done = await executeChange({ context, prepare: async () => steps, audit });
 */
export async function executeChange<R>(plan: ChangePlan<R>): Promise<Array<StepDone<R>>> {
  const { context } = plan;
  const dryRun = plan.dryRun === true;
  if (plan.consent && !dryRun) await requireConsent(context, plan.consent.action, plan.consent);
  return withSession(context.connection, (session) =>
    withMigrationLock(session, context.lockKey, context.lockTimeoutMs, async () => {
      const history = historyStore(session, context.tables);
      const done: Array<StepDone<R>> = [];
      let started = false;
      let inDryRunTransaction = false;
      const command = () => {
        const c = plan.audit.command;
        return typeof c === "function" ? c() : (c ?? context.command);
      };
      const stepContext: StepContext = {
        session,
        history,
        inOuterTransaction: dryRun,
        inTransaction: (fn) => (dryRun ? fn() : withTransaction(session, fn)),
      };
      const begin = async () => {
        await session.exec("begin");
        inDryRunTransaction = true;
      };
      try {
        // A plan that must read a complete history (hand-made tables lack columns) upgrades it
        // first, inside the dry-run transaction when there is one. Otherwise prepare reads
        // outside it: a missing table must not abort the transaction before it began its work.
        const ensureFirst = plan.ensureHistory === "before-prepare";
        if (dryRun && ensureFirst) await begin();
        if (ensureFirst) await history.ensure();
        const steps = await plan.prepare({ session, history });
        if (dryRun) {
          const blocked = steps.find((s) => s.mode !== "transactional");
          if (blocked) throw plan.refuseDryRun?.(blocked) ?? cannotDryRun(blocked);
          if (!inDryRunTransaction) await begin();
        }
        // Otherwise only now, with every step prepared and validated, is anything created.
        if (plan.ensureHistory === "before-steps") await history.ensure();
        for (const [index, step] of steps.entries()) {
          plan.onStep?.(step, index, steps.length);
          started = true;
          done.push({ id: step.id, result: await step.run(stepContext) });
        }
        if (dryRun) {
          inDryRunTransaction = false;
          await session.exec("rollback");
        } else {
          const details = plan.audit.success(done);
          if (details) {
            await history.recordEvent({
              command: command(),
              environment: context.environment,
              outcome: "success",
              details,
            });
          }
        }
        return done;
      } catch (caught) {
        const err =
          caught instanceof ConfitureError && plan.annotateFailure
            ? plan.annotateFailure(caught, done, dryRun)
            : caught;
        if (inDryRunTransaction) await session.exec("rollback").catch(() => {});
        else if (started) {
          await history.recordEvent(
            failureEvent(command(), context.environment, plan.audit.failure(done), err),
          );
        }
        throw err;
      }
    }),
  );
}

function cannotDryRun(step: ChangeStep<unknown>): ConfitureError {
  return new UsageError(`--dry-run cannot run ${step.id}: it does not run inside a transaction`);
}
