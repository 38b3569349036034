/**
 * The server-side facts health needs beyond what opening the session already read (version,
 * recovery): one round trip of scalar subqueries over the catalogs and pg_stat_archiver.
 */

import type { PitrArchiver } from "../backup/index.js";
import type { LockKey } from "../db/advisory-lock.js";
import { qualify } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import type { HistoryTables } from "../history/index.js";

/** pg_stat_archiver (as `pitr status` reads it) and archive_mode, times as ISO 8601 UTC with microseconds (so they sort as text). */
export interface ArchiverFacts extends PitrArchiver {
  /** `archive_mode`: `off`, `on` or `always`. */
  archiveMode: string;
}

export interface ServerFacts {
  trackingTableExists: boolean;
  /** True when another session holds the migration lock (who it is costs a second query). */
  lockHeld: boolean;
  archiver: ArchiverFacts;
  /** The server's clock, ISO 8601 UTC: ages of server times are measured against it. */
  serverNow: string;
}

const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const iso = (column: string) => `to_char(${column} at time zone 'UTC', ${ISO_US})`;

const FACTS_SQL = `
select to_regclass($3) is not null as "trackingTableExists",
       exists(select from pg_locks l
               where l.locktype = 'advisory' and l.granted
                 and l.database = (select oid from pg_database where datname = current_database())
                 and l.classid = $1::bigint::oid and l.objid = $2::bigint::oid and l.objsubid = 2
                 and l.pid <> pg_backend_pid()) as "lockHeld",
       current_setting('archive_mode') as "archiveMode",
       a.archived_count::int8::text as "archivedCount", a.last_archived_wal as "lastArchivedWal",
       ${iso("a.last_archived_time")} as "lastArchivedTime",
       a.failed_count::int8::text as "failedCount", a.last_failed_wal as "lastFailedWal",
       ${iso("a.last_failed_time")} as "lastFailedTime",
       ${iso("a.stats_reset")} as "statsReset",
       ${iso("now()")} as "serverNow"
  from pg_stat_archiver a`;

/**
 * Read the facts in one round trip.
 * @example const facts = await readServerFacts(session, tables, lockKey);
 */
export async function readServerFacts(
  session: Session,
  tables: HistoryTables,
  lockKey: LockKey,
): Promise<ServerFacts> {
  const [r] = await session.query<
    Omit<ArchiverFacts, "archivedCount" | "failedCount"> & {
      trackingTableExists: boolean;
      lockHeld: boolean;
      archivedCount: string;
      failedCount: string;
      serverNow: string;
    }
  >(FACTS_SQL, [lockKey.classid, lockKey.objid, qualify(tables.schema, tables.trackingTable)]);
  if (r === undefined) throw new Error("pg_stat_archiver returned no row");
  return {
    trackingTableExists: r.trackingTableExists,
    lockHeld: r.lockHeld,
    serverNow: r.serverNow,
    archiver: {
      archiveMode: r.archiveMode,
      archivedCount: Number(r.archivedCount),
      lastArchivedWal: r.lastArchivedWal,
      lastArchivedTime: r.lastArchivedTime,
      failedCount: Number(r.failedCount),
      lastFailedWal: r.lastFailedWal,
      lastFailedTime: r.lastFailedTime,
      statsReset: r.statsReset,
    },
  };
}
