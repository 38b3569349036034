/**
 * `confiture lock status` and `confiture unlock [--force]`.
 *
 * Unlocking ends the holder's session with `pg_terminate_backend`: the server then releases
 * every lock that session held, and rolls back its open transaction. The runbook's
 * `SELECT pg_advisory_unlock_all()` run from psql releases only the *psql* session's own
 * advisory locks — none — so it cannot free a lock held by a stuck migration.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { describeHolder, type LockHolder, lockSessions } from "../db/advisory-lock.js";
import { ConfitureError } from "../errors.js";
import { inspect, runContext } from "../ops/context.js";

export interface LockStatusResult {
  lock: string;
  held: boolean;
  holder: LockHolder | null;
  waiting: LockHolder[];
}

/** Who holds the migration lock, and who waits for it. */
export async function lockStatus(config: ConfitureConfig): Promise<LockStatusResult> {
  const run = runContext(config, COMMANDS.lockStatus);
  const { lockKey } = run;
  return inspect(run, async ({ session }) => {
    const sessions = await lockSessions(session, lockKey);
    const holder = sessions.find((s) => s.granted) ?? null;
    return {
      lock: lockKey.label,
      held: holder !== null,
      holder,
      waiting: sessions.filter((s) => !s.granted),
    };
  });
}

export interface UnlockResult {
  released: boolean;
  holder: LockHolder | null;
  message: string;
}

/**
 * Release a stuck lock by terminating the holder's session. Without `force`, only when the
 * holder is idle (not in the middle of a statement or transaction).
 */
export async function unlock(config: ConfitureConfig, opts: { force?: boolean } = {}): Promise<UnlockResult> {
  // Takes no lock of its own: it frees the lock by ending the session that holds it.
  const run = runContext(config, COMMANDS.unlock);
  return inspect(run, async ({ session, history }) => {
    const holder = (await lockSessions(session, run.lockKey)).find((s) => s.granted) ?? null;
    if (!holder)
      return { released: false, holder: null, message: "the migration lock is not held; nothing to do" };
    if (holder.state !== "idle" && !opts.force) {
      throw new ConfitureError(
        "LOCK_HOLDER_BUSY",
        `the lock holder is not idle (${describeHolder(holder)}); it may be applying a migration. ` +
          `Wait for it, or run "confiture unlock --force" to terminate that session (its open transaction is rolled back).`,
        { details: { holder } },
      );
    }
    const rows = await session.query<{ ok: boolean }>("select pg_terminate_backend($1) as ok", [holder.pid]);
    if (!rows[0]?.ok) {
      throw new ConfitureError(
        "UNLOCK_FAILED",
        `could not terminate pid ${holder.pid}; the user "${session.user}" needs to be a superuser, the same role, or a member of pg_signal_backend`,
      );
    }
    // Wait (bounded) until the backend is gone so the lock is really free when we return.
    for (let i = 0; i < 50; i++) {
      const still = await session.query("select 1 from pg_stat_activity where pid = $1", [holder.pid]);
      if (still.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await history.recordEvent({
      command: opts.force ? `${COMMANDS.unlock} --force` : COMMANDS.unlock,
      environment: config.environment,
      outcome: "success",
      details: { terminated: holder },
    });
    return { released: true, holder, message: `terminated pid ${holder.pid}; the migration lock is free` };
  });
}
