/**
 * Looking at Confiture's migration lock and sessions from the outside, through pg_locks and
 * pg_stat_activity, for tests that kill or race CLI processes.
 */
import type { TestDatabase } from "./database.js";

/** First half of every Confiture advisory-lock key ("Conf" in ASCII). */
export const CONFITURE_LOCK_CLASSID = 0x436f6e66;

/** Pids holding (granted) or waiting for a Confiture migration lock in this database. */
export async function migrationLockSessions(db: TestDatabase): Promise<{ pid: number; granted: boolean }[]> {
  const r = await db.query<{ pid: number; granted: boolean }>(
    `select pid, granted from pg_locks
      where locktype = 'advisory' and classid = $1::bigint::oid
        and database = (select oid from pg_database where datname = current_database())`,
    [CONFITURE_LOCK_CLASSID],
  );
  return r.rows;
}

/** Backends of this database whose application_name says they belong to a Confiture command. */
export async function confitureBackends(db: TestDatabase): Promise<number[]> {
  const r = await db.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where datname = current_database() and application_name like 'confiture:%' and pid <> pg_backend_pid()`,
  );
  return r.rows.map((row) => row.pid);
}

/**
 * Wait until no Confiture backend is left in the database and nobody holds the migration lock.
 * A killed client's backend lingers until the server notices the closed socket (at the end of
 * the running statement at the latest). Returns false if that takes longer than `timeoutMs`.
 */
export async function waitUntilConfitureIdle(db: TestDatabase, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [locks, backends] = await Promise.all([migrationLockSessions(db), confitureBackends(db)]);
    if (locks.length === 0 && backends.length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
