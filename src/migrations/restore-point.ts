/**
 * A named restore point before the first migration of a run (`confiture_before_<id>`), so the
 * database can be recovered to just before a migration (`recovery_target_name`). Only where it
 * is useful and allowed: WAL at `replica` or `logical`, archiving on, a primary, and a role that
 * may call `pg_create_restore_point`. Otherwise nothing happens and nothing is said: a restore
 * point is a help, never a reason for a migration not to run.
 */
import type { Session } from "../db/session.js";
import { ConnectionLostError } from "../errors.js";
import type { HistoryStore } from "../history/index.js";

/** The restore point made before a migration: its name and WAL position. */
export interface RestorePoint {
  name: string;
  lsn: string;
  /** The migration it comes before. */
  before: string;
}

/** Restore point names are at most 63 bytes. */
const MAX_NAME_BYTES = 63;

/** `confiture_before_<id>`, cut to 63 bytes on a character boundary. */
export function restorePointName(id: string): string {
  let name = `confiture_before_${id}`;
  while (Buffer.byteLength(name) > MAX_NAME_BYTES) name = name.slice(0, -1);
  return name;
}

/**
 * Create the restore point and record it as an event; undefined when the server does not archive
 * WAL, the role may not, or it fails (the run goes on). A lost connection is not swallowed.
 */
export async function createRestorePoint(
  session: Session,
  history: HistoryStore,
  environment: string | undefined,
  before: string,
): Promise<RestorePoint | undefined> {
  try {
    const [can] = await session.query<{ ok: boolean }>(
      `select current_setting('wal_level') in ('replica', 'logical')
              and current_setting('archive_mode') <> 'off'
              and not pg_is_in_recovery()
              and has_function_privilege('pg_catalog.pg_create_restore_point(text)', 'execute') as ok`,
    );
    if (can?.ok !== true) return undefined;
    const name = restorePointName(before);
    const [made] = await session.query<{ lsn: string }>("select pg_create_restore_point($1)::text as lsn", [
      name,
    ]);
    const point = { name, lsn: made!.lsn, before };
    await history.recordEvent({
      command: "restore point",
      environment,
      outcome: "success",
      details: { ...point },
    });
    return point;
  } catch (err) {
    if (err instanceof ConnectionLostError) throw err;
    return undefined;
  }
}
