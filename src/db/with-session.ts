/**
 * The shapes every database operation takes: a session that is always closed, a transaction
 * that is always ended, and one retry policy for DDL that hit `lock_timeout`.
 */
import type { ConnectionSpec } from "./connection-spec.js";
import { isLockNotAvailable } from "./pg-errors.js";
import { openSession, type Session } from "./session.js";

/**
 * Open a session, run `fn`, close the session whatever happens.
 * @example const n = await withSession(spec, (s) => s.query("select 1"));
 */
export async function withSession<T>(spec: ConnectionSpec, fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(spec);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/**
 * Run `fn` inside BEGIN ... COMMIT; any error rolls back and is rethrown.
 * @example await withTransaction(session, async () => { await session.query("insert ..."); });
 */
export async function withTransaction<T>(session: Session, fn: () => Promise<T>): Promise<T> {
  await session.query("begin");
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await session.query("rollback").catch(() => {});
    throw err;
  }
  await session.query("commit");
  return result;
}

export interface LockRetryOptions {
  /** Total attempts (1 = no retry). Default 5. */
  attempts?: number | undefined;
  /** Wait before the first retry, doubled each time. Default 500 ms. */
  backoffMs?: number | undefined;
  /** Told before each wait, e.g. to show "retrying in 1000 ms". */
  onRetry?: ((retry: { attempt: number; delayMs: number }) => void) | undefined;
  /** Called after a failed attempt, before the wait (e.g. to roll back). */
  afterFailure?: (() => Promise<void>) | undefined;
  /** False stops retrying (e.g. the session is gone). Default: always true. */
  canRetry?: (() => boolean) | undefined;
}

const DEFAULT_ATTEMPTS = 5;
const DEFAULT_BACKOFF_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` again, with exponential backoff, while it fails with a lock timeout (SQLSTATE
 * 55P03), so a migration never queues an ACCESS EXCLUSIVE request in front of production
 * traffic for long; other errors, and the last lock timeout, are thrown as they are.
 * @example await retryOnLockTimeout(() => session.exec(ddl), { onRetry: ({ delayMs }) => log(delayMs) });
 */
export async function retryOnLockTimeout<T>(
  attempt: () => Promise<T>,
  opts: LockRetryOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      await opts.afterFailure?.();
      if (!isLockNotAvailable(err) || n >= attempts || opts.canRetry?.() === false) throw err;
      const delayMs = (opts.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (n - 1);
      opts.onRetry?.({ attempt: n, delayMs });
      await sleep(delayMs);
    }
  }
}
