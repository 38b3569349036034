/**
 * The one execution path for commands that change a database or its history. A command
 * describes a plan — what to check with the lock held, and the steps to run — and
 * `executeChange` does the rest in a fixed order, the same for every command:
 *
 *   consent (protected environments) -> session (refused on a read-only server) -> migration
 *   lock -> prepare (read state, refuse, build steps; nothing changes yet) -> [dry run: BEGIN]
 *   -> history tables -> steps, each announced -> [dry run: ROLLBACK] -> audit event
 *
 * Steps are `transactional` (they may run inside the dry-run transaction), `no-transaction`
 * (statements outside any transaction: never dry-run), or `tool` (an external program: never
 * dry-run). When the connection is lost, the outcome is established, not assumed: before the
 * steps nothing changed; during a step a new connection asks the step what history says.
 */
import { withMigrationLock } from "../db/advisory-lock.js";
import { describeTarget } from "../db/connection-spec.js";
import { openSession, type Session } from "../db/session.js";
import { withSession, withTransaction } from "../db/with-session.js";
import { ConfitureError, ConnectionError, ConnectionLostError, UsageError } from "../errors.js";
import { failureEvent, type HistoryStore, historyStore } from "../history/index.js";
import { askConsent, type ConsentOptions, refuseWithoutConsent } from "./consent.js";
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
  /**
   * After the connection was lost while this step ran: what history (read on a new connection)
   * says happened, as a sentence for the user. Without it the outcome is reported as unknown.
   */
  afterLoss?(history: HistoryStore): Promise<string>;
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
  /**
   * Ask for consent on protected environments (not in a dry run): `action` says what, e.g.
   * "rolling back"; `describe` (asked after `prepare`) lists what exactly, one fact a line.
   */
  consent?: (ConsentOptions & { action: string; describe?: () => string[] }) | undefined;
  /**
   * Create the history tables when missing (and add columns an older table lacks): before
   * `prepare` when it must read a complete history, or only once every step is prepared (and
   * then only when there is a step to run).
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

const CREATING_HISTORY = "creating the history tables";

/** Where a run is, for a lost connection's message. */
interface Progress<R> {
  phase: string;
  /** The backend that ran the plan, and its application_name, once connected. */
  backend: { pid: number; applicationName: string } | undefined;
  step: ChangeStep<R> | undefined;
  done: Array<StepDone<R>>;
}

/**
 * Execute a plan; returns the steps that ran (in a dry run: ran and were rolled back).
 * @example const done = await executeChange({ context, prepare: async () => steps, audit });
 */
export async function executeChange<R>(plan: ChangePlan<R>): Promise<Array<StepDone<R>>> {
  const { context } = plan;
  const dryRun = plan.dryRun === true;
  const consent = dryRun ? undefined : plan.consent;
  if (consent) refuseWithoutConsent(context, consent.action, describeTarget(context.connection), consent);
  const progress: Progress<R> = { phase: "connecting", backend: undefined, step: undefined, done: [] };
  const command = () => {
    const c = plan.audit.command;
    return typeof c === "function" ? c() : (c ?? context.command);
  };
  try {
    return await withSession(context.connection, (session) => {
      refuseReadOnly(session);
      progress.backend = { pid: session.pid, applicationName: session.applicationName };
      progress.phase = "taking the migration lock";
      return withMigrationLock(session, context.lockKey, context.lockTimeoutMs, () =>
        runLocked(plan, session, progress, command),
      );
    });
  } catch (err) {
    if (!(err instanceof ConnectionLostError)) throw err;
    throw await explainLoss(plan, err, progress, command);
  }
}

async function runLocked<R>(
  plan: ChangePlan<R>,
  session: Session,
  progress: Progress<R>,
  command: () => string,
): Promise<Array<StepDone<R>>> {
  const { context } = plan;
  const dryRun = plan.dryRun === true;
  const history = historyStore(session, context.tables);
  const { done } = progress;
  let inDryRunTransaction = false;
  const stepContext: StepContext = {
    session,
    history,
    inOuterTransaction: dryRun,
    inTransaction: (fn) => (dryRun ? fn() : withTransaction(session, fn)),
  };
  const begin = async () => {
    await session.query("begin");
    inDryRunTransaction = true;
  };
  try {
    // A plan that must read a complete history (hand-made tables lack columns) upgrades it
    // first, inside the dry-run transaction when there is one. Otherwise prepare reads
    // outside it: a missing table must not abort the transaction before it began its work.
    const ensureFirst = plan.ensureHistory === "before-prepare";
    if (dryRun && ensureFirst) await begin();
    progress.phase = CREATING_HISTORY;
    if (ensureFirst) await history.ensure();
    progress.phase = "reading history";
    const steps = await plan.prepare({ session, history });
    if (plan.consent && !dryRun) {
      const { action, describe } = plan.consent;
      await askConsent(context, action, session.target, describe?.() ?? [], plan.consent);
    }
    if (dryRun) {
      const blocked = steps.find((s) => s.mode !== "transactional");
      if (blocked) throw plan.refuseDryRun?.(blocked) ?? cannotDryRun(blocked);
      if (!inDryRunTransaction) await begin();
    }
    // Otherwise only now, with every step prepared and validated, is anything created; and
    // nothing at all when there is nothing to run (a no-op `up` only reads).
    progress.phase = CREATING_HISTORY;
    if (plan.ensureHistory === "before-steps" && steps.length > 0) await history.ensure();
    for (const [index, step] of steps.entries()) {
      plan.onStep?.(step, index, steps.length);
      progress.phase = `running ${step.id}`;
      progress.step = step;
      done.push({ id: step.id, result: await step.run(stepContext) });
      progress.step = undefined;
    }
    progress.phase = "finishing";
    if (dryRun) {
      inDryRunTransaction = false;
      await session.query("rollback");
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
    // A lost connection is explained by the caller, on a new connection.
    if (caught instanceof ConnectionLostError) throw caught;
    const err =
      caught instanceof ConfitureError && plan.annotateFailure
        ? plan.annotateFailure(caught, done, dryRun)
        : caught;
    if (inDryRunTransaction) await session.query("rollback").catch(() => {});
    else if (progress.step !== undefined || done.length > 0) {
      await history.recordEvent(failureEvent(command(), context.environment, plan.audit.failure(done), err));
    }
    throw err;
  }
}

/**
 * The lost connection told truthfully: before any step nothing changed; in a dry run the
 * server rolled everything back; during a step, history on a new connection decides (and the
 * failure is audited there); when the server cannot be reached again, the outcome is unknown.
 */
async function explainLoss<R>(
  plan: ChangePlan<R>,
  lost: ConnectionLostError,
  progress: Progress<R>,
  command: () => string,
): Promise<ConfitureError> {
  const { context } = plan;
  const dryRun = plan.dryRun === true;
  const { step, done } = progress;
  let truth: string;
  if (dryRun) {
    truth = "it was a dry run, so the server rolled everything back and nothing was changed";
  } else if (step === undefined) {
    const again = 'run the command again once the server is reachable (see "confiture migrate status")';
    truth =
      done.length > 0
        ? `every step had finished (${done.map((d) => d.id).join(", ")}); only the audit record may be missing`
        : progress.phase === CREATING_HISTORY
          ? `no step had started, so nothing was applied or rolled back (Confiture's history tables may have been created); ${again}`
          : `no change had been made; ${again}`;
  } else {
    truth = await withReconnected(context, progress.backend, async (history) => {
      const message = step.afterLoss
        ? await step.afterLoss(history)
        : `whether ${step.id} took effect is not known: check the database before running it again`;
      await history.recordEvent(
        failureEvent(
          command(),
          context.environment,
          plan.audit.failure(done),
          lost.during(progress.phase, message),
        ),
      );
      return message;
    }).catch(
      (err: unknown) =>
        `${err instanceof StillRunning ? err.message : "the server could not be reached again"}, so whether ${step.id} was applied is unknown: ` +
        'run "confiture migrate status" once the server is reachable and that session has ended',
    );
  }
  const explained = lost.during(progress.phase, truth);
  return plan.annotateFailure && !dryRun ? plan.annotateFailure(explained, done, dryRun) : explained;
}

/** The session that ran the step could not be ended, so its transaction may still commit. */
class StillRunning extends Error {}

/**
 * A short-lived second session to read what the first one can no longer tell. The first
 * session's backend may outlive the client's connection (a server that has not noticed, a
 * statement that does not check) and could still commit after history was read; so it is
 * ended first (`pg_terminate_backend`, only if it is still ours) and awaited: once it is gone,
 * its transaction is either committed or rolled back for good, and history tells which.
 */
async function withReconnected<T>(
  context: RunContext,
  backend: Progress<unknown>["backend"],
  fn: (history: HistoryStore) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  // A restarting server refuses connections for a moment; try for a few seconds.
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await sleep(1000);
    let session: Session;
    try {
      session = await openSession({
        ...context.connection,
        applicationName: `confiture: ${context.command} (recheck)`,
      });
    } catch (err) {
      lastError = err;
      continue;
    }
    try {
      if (backend) await endBackend(session, backend);
      return await fn(historyStore(session, context.tables));
    } finally {
      await session.close();
    }
  }
  throw lastError;
}

/** Terminate the old backend if it still runs (same pid and application), and wait until it is gone. */
async function endBackend(
  session: Session,
  backend: { pid: number; applicationName: string },
): Promise<void> {
  // The application_name check keeps a reused pid (after a server restart) from being hit.
  const ours = "select 1 from pg_stat_activity where pid = $1 and starts_with(application_name, $2)";
  const alive = async () => (await session.query(ours, [backend.pid, backend.applicationName])).length > 0;
  if (!(await alive())) return;
  await session.query(
    `select pg_terminate_backend(pid) from pg_stat_activity where pid = $1 and starts_with(application_name, $2)`,
    [backend.pid, backend.applicationName],
  );
  for (let i = 0; i < 50; i++) {
    if (!(await alive())) return;
    await sleep(100);
  }
  throw new StillRunning(`the session that ran it (pid ${backend.pid}) could not be ended`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refuseReadOnly(session: Session): void {
  if (session.readOnly === null) return;
  const why =
    session.readOnly === "standby"
      ? "a hot standby (in recovery)"
      : "read-only (default_transaction_read_only is on for this database or role)";
  throw new ConnectionError(
    `the server at ${session.target} is ${why}, so it cannot take changes: connect to the primary ` +
      "(check the host in the database URL) and run the command again. Nothing was changed.",
    "SERVER_READ_ONLY",
    { details: { readOnly: session.readOnly } },
  );
}

function cannotDryRun(step: ChangeStep<unknown>): ConfitureError {
  return new UsageError(`--dry-run cannot run ${step.id}: it does not run inside a transaction`);
}
