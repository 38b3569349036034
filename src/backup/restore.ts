/**
 * `restore FILE --target-db NAME`: the runbook's full restore (Scenario 2, option B). The dump
 * is restored with pg_restore into NAME on the configured server (same host and credentials,
 * another database), which must exist and be empty (`--create` creates it; `--force` restores
 * on top of what is there with `--clean --if-exists`). Afterwards the restored history is read
 * against the project's files: what `migrate up --verify-checksums` would apply there (the
 * migrations newer than the backup) and the commands to run next.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { type ConnectionSpec, describeTarget, onDatabase } from "../db/connection-spec.js";
import { quoteIdent, quoteLiteral } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { withSession } from "../db/with-session.js";
import { OperationFailedError, UsageError } from "../errors.js";
import { historyStore } from "../history/index.js";
import { readMigrations } from "../migrations/files.js";
import { askConsent, type ConsentOptions, refuseWithoutConsent } from "../ops/consent.js";
import { runContext } from "../ops/context.js";
import { checkDatabaseName, findDump, pgRestore } from "./restore-common.js";

export interface RestoreOptions extends ConsentOptions {
  /** The database to restore into, on the configured server. */
  targetDb: string;
  /** Create it first (it may already exist if it is empty). */
  create?: boolean | undefined;
  /** pg_restore --jobs. Default 1. */
  jobs?: number | undefined;
  /** Restore into a non-empty target (`--clean --if-exists`), and skip the protected-environment question. */
  force?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** pg_restore's warnings, redacted, as they come. */
  onWarning?: ((line: string) => void) | undefined;
}

export interface RestoreResult {
  /** The dump restored (absolute path). */
  file: string;
  /** The target database's name, and its URL with the password hidden. */
  targetDatabase: string;
  targetUrl: string;
  created: boolean;
  /** Restored on top of existing objects (`--force` on a non-empty target). */
  restoredOnTop: boolean;
  jobs: number;
  durationMs: number;
  /** What the backup's metadata says (null for a dump without metadata). */
  backup: { startedAt: string; head: string | null; appliedCount: number } | null;
  /** The restored history: whether the tracking table came back, and its newest migration. */
  history: { exists: boolean; applied: number; head: string | null; failed: string[] };
  /** What `migrate up --verify-checksums` would apply on the restored database, in order. */
  pending: string[];
  /** Applied there but without a file in the project (a newer backup than the checkout?). */
  missingFiles: string[];
  /** The commands to run next, as typed at a shell (the URL's password hidden). */
  nextCommands: string[];
  /** An event was recorded in the restored database's confiture_events. */
  eventRecorded: boolean;
}

/**
 * Restore `file` into the database `opts.targetDb` on the configured server.
 * @example await restoreBackup(config, "backups/app_20261125T013000Z.dump", { targetDb: "app_restored", create: true });
 */
export async function restoreBackup(
  config: ConfitureConfig,
  file: string,
  opts: RestoreOptions,
): Promise<RestoreResult> {
  checkDatabaseName(opts.targetDb, "--target-db");
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    throw new UsageError(`--jobs must be a whole number from 1 to 64 (got ${opts.jobs})`);
  }
  const dump = await findDump(config, file);
  const files = await readMigrations(config.migrationsDir, config);
  const run = runContext(config, COMMANDS.restore);
  const admin = run.connection;
  const target = onDatabase(admin, opts.targetDb, `confiture: ${COMMANDS.restore}`);
  const targetUrl = describeTarget(target);
  refuseWithoutConsent(run, "restoring a backup", targetUrl, opts);

  const started = Date.now();
  const prepared = await withSession(admin, async (session) => {
    // Restoring on top of the very database Confiture is configured for would drop and re-create
    // production's objects; --force is consent, not that. Restore elsewhere, then switch.
    if (session.database === opts.targetDb) {
      throw new UsageError(
        `--target-db ${opts.targetDb} is the configured database itself; restore into another database ` +
          "(e.g. --target-db <name>_restored --create), check it, then point the application at it. Nothing was changed.",
        "RESTORE_TARGET_NOT_EMPTY",
        { details: { database: opts.targetDb } },
      );
    }
    const created = await ensureTarget(session, opts.targetDb, opts.create === true, target);
    const objects = await withSession(target, (t) => userObjects(t));
    if (objects.count > 0 && opts.force !== true) {
      throw new UsageError(
        `database ${opts.targetDb} is not empty: it holds ${describeObjects(objects)}. ` +
          "Restore into an empty database (drop and create it, or pick another name with --create), " +
          "or pass --force to restore on top of it (objects in the backup are dropped and re-created). Nothing was changed.",
        "RESTORE_TARGET_NOT_EMPTY",
        { details: { database: opts.targetDb, objects: objects.count, sample: objects.sample } },
      );
    }
    await refuseInUse(session, opts.targetDb);
    await askConsent(
      run,
      "restoring a backup",
      targetUrl,
      [
        `from ${dump.path}`,
        objects.count > 0
          ? `on top of ${describeObjects(objects)} (objects in the backup are dropped and re-created)`
          : "into an empty database",
      ],
      opts,
    );
    return {
      created,
      onTop: objects.count > 0,
      server: { serverVersion: session.serverVersion, serverVersionNum: session.serverVersionNum },
    };
  });

  const args = ["--no-owner", "--exit-on-error", `--jobs=${jobs}`];
  if (prepared.onTop) args.push("--clean", "--if-exists");
  await pgRestore(target, opts.targetDb, prepared.server, args, dump.path, {
    signal: opts.signal,
    onStderrLine: opts.onWarning,
  }).catch((err: unknown) => {
    throw err instanceof Error && "code" in err && err.code === "TOOL_FAILED"
      ? new OperationFailedError(
          "TOOL_FAILED",
          `restoring ${dump.path} into ${opts.targetDb} failed: ${(err as Error).message}. ` +
            `${opts.targetDb} may hold part of the backup: drop and create it before trying again`,
          { cause: err, details: { database: opts.targetDb } },
        )
      : err;
  });
  const durationMs = Date.now() - started;

  // What the restored history says, against the project's files.
  return withSession(target, async (session) => {
    const history = historyStore(session, run.tables);
    const rows = (await history.read()) ?? null;
    const exists = rows !== null;
    const done = new Set((rows ?? []).filter((r) => r.status !== "failed").map((r) => r.version));
    const failed = (rows ?? []).filter((r) => r.status === "failed").map((r) => r.version);
    const known = new Set(files.map((f) => f.id));
    const pending = files.filter((f) => !done.has(f.id)).map((f) => f.id);
    const missingFiles = [...done].filter((v) => !known.has(v));
    const head = rows && rows.length > 0 ? ([...done].sort().at(-1) ?? null) : null;
    const backup = dump.metadata
      ? {
          startedAt: dump.metadata.startedAt,
          head: dump.metadata.migrations.head,
          appliedCount: dump.metadata.migrations.appliedCount,
        }
      : null;
    let eventRecorded = false;
    if (exists) {
      eventRecorded = await history.recordEvent({
        command: COMMANDS.restore,
        environment: run.environment,
        outcome: "success",
        details: {
          file: dump.path,
          sha256: dump.metadata?.sha256 ?? null,
          backupStartedAt: backup?.startedAt ?? null,
          created: prepared.created,
          restoredOnTop: prepared.onTop,
          jobs,
          durationMs,
          pending,
        },
      });
    }
    const url = `DATABASE_URL=${shellQuote(targetUrl)}`;
    return {
      file: dump.path,
      targetDatabase: opts.targetDb,
      targetUrl,
      created: prepared.created,
      restoredOnTop: prepared.onTop,
      jobs,
      durationMs,
      backup,
      history: { exists, applied: done.size, head, failed },
      pending,
      missingFiles,
      nextCommands: [
        `${url} confiture migrate up --verify-checksums`,
        `${url} confiture migrate drift-detect`,
        `${url} confiture verify`,
      ],
      eventRecorded,
    };
  });
}

/**
 * Make sure the target exists: with `create`, create it (an existing empty one is used);
 * without, it must exist. Returns true when it was created here.
 */
async function ensureTarget(
  session: Session,
  name: string,
  create: boolean,
  target: ConnectionSpec,
): Promise<boolean> {
  const [row] = await session.query<{ ok: boolean }>(
    "select exists (select from pg_database where datname = $1) as ok",
    [name],
  );
  const exists = row?.ok === true;
  if (!create) {
    if (exists) return false;
    throw new UsageError(
      `database ${name} does not exist on ${session.target.replace(/\/[^/?]*(\?.*)?$/, "")}: create it ` +
        `(createdb ${name}) or pass --create. Nothing was changed.`,
      "RESTORE_TARGET_MISSING",
    );
  }
  if (exists) {
    const objects = await withSession(target, (t) => userObjects(t));
    if (objects.count === 0) return false;
    throw new UsageError(
      `--create: database ${name} already exists and holds ${describeObjects(objects)}; ` +
        "pick another name, or drop it first (or restore on top of it with --force, without --create). Nothing was changed.",
      "RESTORE_TARGET_NOT_EMPTY",
      { details: { database: name, objects: objects.count, sample: objects.sample } },
    );
  }
  const [db] = await session.query<{ enc: string; collate: string; ctype: string }>(
    "select pg_encoding_to_char(encoding) as enc, datcollate as collate, datctype as ctype from pg_database where datname = current_database()",
  );
  await session.query(
    `create database ${quoteIdent(name)} template template0 encoding ${quoteLiteral(db!.enc)} ` +
      `lc_collate ${quoteLiteral(db!.collate)} lc_ctype ${quoteLiteral(db!.ctype)}`,
  );
  return true;
}

/** Other sessions on the target make pg_restore fail or block: said in one line instead. */
async function refuseInUse(session: Session, name: string): Promise<void> {
  let row: { n: number; apps: string | null } | undefined;
  // Our own short session on the target may still be ending: look again for a moment.
  for (let attempt = 0; attempt < 10; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
    [row] = await session.query<{ n: number; apps: string | null }>(
      `select count(*)::int as n, string_agg(distinct nullif(application_name, ''), ', ') as apps
         from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [name],
    );
    if ((row?.n ?? 0) === 0) return;
  }
  const n = row?.n ?? 0;
  throw new OperationFailedError(
    "RESTORE_TARGET_IN_USE",
    `database ${name} is in use by ${n} other session(s)${row?.apps ? ` (${row.apps})` : ""}: ` +
      "stop the application (and other clients) connected to it, or restore into another database, then run the command again. Nothing was changed.",
    { details: { database: name, sessions: n } },
  );
}

/** Objects in the database outside the system schemas (an empty public schema does not count). */
export interface DatabaseObjects {
  count: number;
  sample: string[];
}

const USER_OBJECTS_SQL = `
with ns as (
  select oid, nspname from pg_namespace
   where nspname not in ('pg_catalog', 'information_schema') and nspname !~ '^pg_(toast|temp_|toast_temp_)'
), ext as (select objid, classid from pg_depend where deptype = 'e'),
objects as (
  select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view'
              when 'm' then 'materialized view' when 'S' then 'sequence' when 'f' then 'foreign table' end as kind,
         ns.nspname || '.' || c.relname as name
    from pg_class c join ns on ns.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
     and not exists (select from ext where ext.classid = 'pg_class'::regclass and ext.objid = c.oid)
  union all
  select 'function', ns.nspname || '.' || p.proname from pg_proc p join ns on ns.oid = p.pronamespace
   where not exists (select from ext where ext.classid = 'pg_proc'::regclass and ext.objid = p.oid)
  union all
  select 'type', ns.nspname || '.' || t.typname from pg_type t join ns on ns.oid = t.typnamespace
   where (t.typtype in ('e', 'd', 'r', 'm') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
     and not exists (select from ext where ext.classid = 'pg_type'::regclass and ext.objid = t.oid)
  union all
  select 'schema', ns.nspname from ns
   where ns.nspname <> 'public'
     and not exists (select from ext where ext.classid = 'pg_namespace'::regclass and ext.objid = ns.oid)
  union all
  select 'extension', e.extname from pg_extension e where e.extname <> 'plpgsql'
)
select kind, name, count(*) over ()::int as total from objects
 order by kind = 'table' desc, kind = 'schema' desc, kind, name limit 5`;

/** What is in a database besides the system's own objects. */
export async function userObjects(session: Session): Promise<DatabaseObjects> {
  const rows = await session.query<{ kind: string; name: string; total: number }>(USER_OBJECTS_SQL);
  return { count: rows[0]?.total ?? 0, sample: rows.map((r) => `${r.kind} ${r.name}`) };
}

function describeObjects(o: DatabaseObjects): string {
  const more = o.count > o.sample.length ? `, and ${o.count - o.sample.length} more` : "";
  return `${o.count} object(s): ${o.sample.join(", ")}${more}`;
}

/** Single-quoted for a POSIX shell when it holds anything special. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
