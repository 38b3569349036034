/**
 * How every database command runs: open a session named after the command, optionally take
 * the migration lock, run, release, close — in that order, whatever happens in between.
 */
import { requireDatabaseUrl } from "../config/load.js";
import type { ConfitureConfig } from "../config/types.js";
import {
  acquireMigrationLock,
  type LockKey,
  migrationLockKey,
  releaseMigrationLock,
} from "./advisory-lock.js";
import { quoteIdent } from "./identifiers.js";
import { openSession, type Session } from "./session.js";

export interface CommandContext {
  session: Session;
  config: ConfitureConfig;
  lockKey: LockKey;
  tables: { schema: string; trackingTable: string };
}

/**
 * Run `fn` with a session; with `lock: true` it holds the migration lock for the whole call.
 *
 * @example
 * await withDatabase(config, "migrate up", { lock: true }, async ({ session }) => { ... });
 */
export async function withDatabase<T>(
  config: ConfitureConfig,
  command: string,
  opts: { lock: boolean },
  fn: (ctx: CommandContext) => Promise<T>,
): Promise<T> {
  const url = requireDatabaseUrl(config);
  const session = await openSession(url, { command });
  const lockKey = migrationLockKey(config.schema, config.trackingTable);
  const ctx: CommandContext = {
    session,
    config,
    lockKey,
    tables: { schema: config.schema, trackingTable: config.trackingTable },
  };
  try {
    if (config.schema !== "public") {
      // Unqualified names in migrations belong to the managed schema (public stays reachable
      // for extensions installed there). With the default schema the role's own search_path applies.
      await session.query("select set_config('search_path', $1, false)", [
        `${quoteIdent(config.schema)}, public`,
      ]);
    }
    if (opts.lock) await acquireMigrationLock(session, lockKey, config.lockTimeoutMs);
    try {
      return await fn(ctx);
    } finally {
      if (opts.lock) await releaseMigrationLock(session, lockKey);
    }
  } finally {
    await session.close();
  }
}
