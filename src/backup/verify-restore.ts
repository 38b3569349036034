/**
 * The restore of `backup verify`: pg_restore (through src/tools: found, version-checked, the
 * connection in libpq's environment) into the scratch database, timed. The measured time is
 * the real recovery time of this database, which the runbook's RTO table can only estimate.
 */

import { describeUserObjects, findUserObjects } from "../catalog/index.js";
import type { ConnectionSpec } from "../db/connection-spec.js";
import { quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { ToolError, UsageError } from "../errors.js";
import { type FoundTool, findTool, parseToolVersion, runTool } from "../tools/index.js";
import type { BackupMetadata } from "./metadata.js";
import { toolConnectionFor } from "./restore-common.js";
import type { BackupCheck } from "./verify-checks.js";

/** A server as far as choosing pg_restore is concerned. */
export interface ServerVersion {
  serverVersion: string;
  serverVersionNum: number;
}

/**
 * pg_restore at least as new as the server and as the pg_dump that made the dump (an archive
 * from a newer pg_dump cannot be read). Throws ToolError TOOL_NOT_FOUND (naming the package to
 * install) or TOOL_TOO_OLD (naming both versions).
 * @example const tool = await findPgRestore({ serverVersion: "15.4", serverVersionNum: 150004 }, meta);
 */
export function findPgRestore(server: ServerVersion, meta: BackupMetadata): Promise<FoundTool> {
  const serverMajor = Math.floor(server.serverVersionNum / 10000);
  const dumpMajor = majorOf(meta.pgDumpVersion);
  const newerDump = dumpMajor !== undefined && dumpMajor > serverMajor;
  return findTool("pg_restore", {
    minMajor: newerDump ? dumpMajor : serverMajor,
    serverVersion: newerDump
      ? `${server.serverVersion} and the dump was made by pg_dump ${meta.pgDumpVersion}`
      : server.serverVersion,
  });
}

/** 15 out of "15.18", "pg_dump (PostgreSQL) 15.18 (Debian ...)"; 9 out of "9.6.24". */
function majorOf(version: string): number | undefined {
  const parsed = parseToolVersion(version) ?? parseToolVersion(`(PostgreSQL) ${version}`);
  return parsed?.major;
}

/** What the restore did: its check, and how long it ran (null when it never started). */
export interface RestoreOutcome {
  check: BackupCheck;
  restoreMs: number | null;
}

/**
 * Restore `dump` into the scratch database `database` (reached through `connection`), with
 * `--no-owner --no-privileges --exit-on-error --jobs N`. pg_restore's failure is the check's
 * FAIL with its last stderr lines as evidence; a pg_restore that cannot run is thrown.
 */
export async function restoreInto(opts: {
  tool: FoundTool;
  dump: string;
  session: Session;
  database: string;
  connection: ConnectionSpec;
  schema: string;
  jobs: number;
  signal?: AbortSignal | undefined;
}): Promise<RestoreOutcome> {
  const { tool, session, database } = opts;
  // The scratch database comes with the managed schema created (and empty); the dump creates it
  // again, which --exit-on-error would stop at. `public` is never in a dump's CREATE SCHEMAs.
  if (opts.schema !== "public") await session.query(`drop schema if exists ${quoteIdent(opts.schema)}`);
  const args = [
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    `--jobs=${opts.jobs}`,
    "--no-password",
    `--dbname=${dbnameArg(database)}`,
    opts.dump,
  ];
  const label = `pg_restore ${tool.version.major}.${tool.version.minor}`;
  const t0 = performance.now();
  try {
    await runTool(tool, args, {
      connection: await toolConnectionFor(opts.connection),
      stdout: "capture",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    const restoreMs = Math.round(performance.now() - t0);
    if (!(err instanceof ToolError) || err.code !== "TOOL_FAILED" || err.details?.cancelled === true)
      throw err;
    const stderr = Array.isArray(err.details?.stderr) ? (err.details.stderr as string[]) : [];
    return {
      restoreMs,
      check: {
        name: "restore",
        verdict: "FAIL",
        evidence:
          stderr.length === 0
            ? [`${label} failed after ${seconds(restoreMs)}: ${err.message}`]
            : [
                `${label} failed after ${seconds(restoreMs)} (${err.exitStatus === undefined ? "stopped" : `exit status ${err.exitStatus}`}); its last words:`,
                ...stderr.slice(-5).map((l) => `pg_restore: ${l.replace(/^pg_restore: /, "")}`),
              ],
      },
    };
  }
  const restoreMs = Math.round(performance.now() - t0);
  return {
    restoreMs,
    check: {
      name: "restore",
      verdict: "PASS",
      evidence: [`${label} --jobs ${opts.jobs} into ${database}: ${seconds(restoreMs)}`],
    },
  };
}

/**
 * The database for `--dbname`: a plain name as is; any other name as a conninfo string naming
 * only the database (a name with `=` or a URL prefix would otherwise be read as one). The rest
 * of the connection stays in the environment either way.
 */
function dbnameArg(name: string): string {
  if (/^[A-Za-z0-9_]+$/.test(name)) return name;
  return `dbname='${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** `12.3 s`, `850 ms`. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A `--scratch-url` database must be empty for a restore of a whole database, `public`
 * included (the scratch code checks only the managed schema). Throws SCRATCH_UNAVAILABLE.
 */
export async function refuseNonEmptyPublic(session: Session, database: string): Promise<void> {
  const found = await findUserObjects(session, "public", { names: [] });
  if (found.count === 0) return;
  throw new UsageError(
    `the scratch database ${database} (--scratch-url) is not empty: schema public holds ${describeUserObjects(found)}. ` +
      "A restore brings back every schema of the backup; give --scratch-url an empty database (Confiture empties it again after use)",
    "SCRATCH_UNAVAILABLE",
  );
}

// Every user object of `public` (none belongs to an extension), each as its DROP statement.
const PUBLIC_OBJECTS_SQL = `
with ns as (select 'public'::regnamespace as oid),
     ext as (select classid, objid from pg_depend where deptype = 'e')
select format('drop %s if exists %s cascade',
              case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                             when 'f' then 'foreign table' when 'S' then 'sequence' else 'table' end,
              c.oid::regclass) as stmt
  from pg_class c
 where c.relnamespace = (select oid from ns) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
   and not exists (select from ext where classid = 'pg_class'::regclass and objid = c.oid)
union all
select format('drop %s if exists %s cascade', case p.prokind when 'a' then 'aggregate' else 'routine' end,
              p.oid::regprocedure)
  from pg_proc p
 where p.pronamespace = (select oid from ns)
   and not exists (select from ext where classid = 'pg_proc'::regclass and objid = p.oid)
union all
select format('drop type if exists %s cascade', t.oid::regtype)
  from pg_type t
 where t.typnamespace = (select oid from ns) and t.typtype in ('e', 'd', 'r', 'c')
   and (t.typtype <> 'c' or (select relkind from pg_class where oid = t.typrelid) = 'c')
   and not exists (select from ext where classid = 'pg_type'::regclass and objid = t.oid)`;

/**
 * Drop what the restore put into `public` of a `--scratch-url` database (empty before, see
 * refuseNonEmptyPublic); the managed schema and the schemas the restore created are emptied by
 * the scratch code. Relations first: their types and owned sequences go with them.
 */
export async function dropRestoredPublic(session: Session): Promise<void> {
  // Names come out schema-qualified (regclass, regprocedure), never resolved to the managed schema.
  await session.query("set search_path = pg_catalog");
  for (const { stmt } of await session.query<{ stmt: string }>(PUBLIC_OBJECTS_SQL)) await session.query(stmt);
}
