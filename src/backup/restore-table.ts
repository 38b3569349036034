/**
 * `restore FILE --table T [--mode replace|append|missing-rows] [--dry-run]`: the runbook's
 * selective table restore (Scenario 5, option B). The table is restored from the dump into a
 * scratch database (pre-data for its types, then only its data), and its rows are copied back
 * into the configured database in one transaction, in batches read through a cursor (memory
 * stays bounded):
 *
 * - `replace`: delete every row, insert the backup's. A DELETE, never a TRUNCATE or a cascade:
 *   a foreign key with ON DELETE CASCADE / SET NULL / SET DEFAULT pointing at the table is
 *   refused before anything runs; one that is NO ACTION / RESTRICT fails the DELETE when a
 *   child still references a row (deferrable ones are checked at commit, after the insert).
 * - `append`: insert every row of the backup.
 * - `missing-rows`: insert only rows whose primary key is absent (ON CONFLICT (pk) DO NOTHING):
 *   a row changed since the backup is never overwritten.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { qualify, quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { withSession } from "../db/with-session.js";
import { OperationFailedError, SqlError, UsageError } from "../errors.js";
import type { ConsentOptions } from "../ops/consent.js";
import { refuseWithoutConsent } from "../ops/consent.js";
import { runContext } from "../ops/context.js";
import { type ChangeStep, executeChange } from "../ops/execute.js";
import { withScratchDatabase } from "../schema/index.js";
import { findDump, pgRestore } from "./restore-common.js";

export type TableRestoreMode = "replace" | "append" | "missing-rows";

export interface TableRestoreOptions extends ConsentOptions {
  /** `table` (in the managed schema) or `schema.table`. */
  table: string;
  mode: TableRestoreMode;
  /** Do everything in a transaction that is rolled back, and report the counts. */
  dryRun?: boolean | undefined;
  /** Rows per batch read from the scratch database and inserted. Default 1000. */
  batchRows?: number | undefined;
}

export interface TableRestoreCounts {
  /** Rows of the table in the backup. */
  inBackup: number;
  inserted: number;
  /** `replace`: rows deleted first. */
  deleted: number;
  /** `missing-rows`: rows whose primary key is present (left as they are now). */
  skipped: number;
  /**
   * Sequences owned by the table's columns (serial, identity) moved up to the highest restored
   * value, so the application's next insert does not reuse a restored key.
   */
  sequencesAdvanced: string[];
}

export interface TableRestoreResult {
  file: string;
  /** `schema.table`. */
  table: string;
  mode: TableRestoreMode;
  dryRun: boolean;
  counts: TableRestoreCounts;
  /** Columns that differ between the backup and the table now, and what was done about them. */
  notes: string[];
  durationMs: number;
}

interface LiveTable {
  columns: string[];
  primaryKey: string[];
  /** Foreign keys of other tables that would change child rows when rows are deleted here. */
  cascading: string[];
}

/**
 * Bring one table's rows back from a backup.
 * @example await restoreTable(config, "backups/app.dump", { table: "users", mode: "missing-rows" });
 */
export async function restoreTable(
  config: ConfitureConfig,
  file: string,
  opts: TableRestoreOptions,
): Promise<TableRestoreResult> {
  const { schema, name } = parseTable(opts.table, config.schema);
  const qualified = `${schema}.${name}`;
  const dump = await findDump(config, file);
  const dryRun = opts.dryRun === true;
  const batchRows = opts.batchRows ?? 1000;
  const run = runContext(config, dryRun ? `${COMMANDS.restore} --dry-run` : COMMANDS.restore);
  if (!dryRun) refuseWithoutConsent(run, `restoring table ${qualified}`, "the configured database", opts);
  const started = Date.now();

  // What the table is now: refused before the (slow) scratch restore when it cannot work.
  const { live, server } = await withSession(run.connection, async (session) => ({
    live: await liveTable(session, schema, name, qualified, opts.mode),
    server: { serverVersion: session.serverVersion, serverVersionNum: session.serverVersionNum },
  }));

  const notes: string[] = [];
  const scratch = await withScratchDatabase({ live: run.connection, schema }, async (s) => {
    const base = ["--no-owner", "--no-acl", "--exit-on-error"];
    // Types, sequences and tables (no constraints, indexes, triggers), then this table's rows.
    await pgRestore(
      run.connection,
      s.database,
      server,
      [...base, "--section=pre-data", "--clean", "--if-exists"],
      dump.path,
    );
    await pgRestore(
      run.connection,
      s.database,
      server,
      [...base, "--data-only", `--schema=${schema}`, `--table=${name}`],
      dump.path,
    );
    const backupColumns = (await columnsOf(s.session, schema, name)) ?? [];
    if (backupColumns.length === 0) {
      throw new UsageError(
        `the backup ${dump.path} holds no table ${qualified}; run "pg_restore --list ${dump.path}" to see what it holds. Nothing was changed.`,
        "RESTORE_TABLE_INVALID",
      );
    }
    const columns = live.columns.filter((c) => backupColumns.includes(c));
    const gone = backupColumns.filter((c) => !live.columns.includes(c));
    const added = live.columns.filter((c) => !backupColumns.includes(c));
    if (gone.length > 0)
      notes.push(`column(s) in the backup but not in the table now, left out: ${gone.join(", ")}`);
    if (added.length > 0)
      notes.push(`column(s) newer than the backup, given their defaults: ${added.join(", ")}`);
    const missingKey = live.primaryKey.filter((c) => !columns.includes(c));
    if (opts.mode === "missing-rows" && missingKey.length > 0) {
      throw new UsageError(
        `--mode missing-rows: the backup's ${qualified} lacks primary-key column(s) ${missingKey.join(", ")}, so missing rows cannot be told apart. Nothing was changed.`,
        "RESTORE_TABLE_INVALID",
      );
    }

    const step: ChangeStep<TableRestoreCounts> = {
      id: `restore ${qualified}`,
      mode: "transactional",
      run: (ctx) =>
        ctx.inTransaction(() =>
          copyRows(s.session, ctx.session, {
            schema,
            name,
            qualified,
            columns,
            live,
            mode: opts.mode,
            batchRows,
          }),
        ),
    };
    const done = await executeChange<TableRestoreCounts>({
      context: run,
      dryRun,
      consent: {
        action: `restoring table ${qualified} (${opts.mode})`,
        force: opts.force,
        confirm: opts.confirm,
        describe: () => [`from ${dump.path}`, describeMode(opts.mode, qualified)],
      },
      prepare: async () => [step],
      audit: {
        success: (ran) => ({
          file: dump.path,
          table: qualified,
          mode: opts.mode,
          ...ran[0]?.result,
          durationMs: Date.now() - started,
        }),
        failure: () => ({ file: dump.path, table: qualified, mode: opts.mode }),
      },
    });
    return done[0]!.result;
  });
  notes.push(...scratch.notes);
  return {
    file: dump.path,
    table: qualified,
    mode: opts.mode,
    dryRun,
    counts: scratch.value,
    notes,
    durationMs: Date.now() - started,
  };
}

function parseTable(table: string, defaultSchema: string): { schema: string; name: string } {
  const parts = table.split(".");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(`--table must be "table" or "schema.table" (got "${table}")`);
  }
  return parts.length === 2
    ? { schema: parts[0]!, name: parts[1]! }
    : { schema: defaultSchema, name: parts[0]! };
}

function describeMode(mode: TableRestoreMode, table: string): string {
  if (mode === "replace") return `every row of ${table} is deleted and replaced by the backup's`;
  if (mode === "append") return `every row of the backup is inserted into ${table}`;
  return `rows of the backup whose primary key is absent from ${table} are inserted; present rows stay as they are`;
}

/** The table's insertable columns (generated ones left out), in order; null when it does not exist. */
async function columnsOf(session: Session, schema: string, name: string): Promise<string[] | null> {
  const rows = await session.query<{ col: string | null }>(
    `select a.attname as col
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
      order by a.attnum`,
    [schema, name],
  );
  if (rows.length === 0) return null;
  return rows.flatMap((r) => (r.col === null ? [] : [r.col]));
}

async function liveTable(
  session: Session,
  schema: string,
  name: string,
  qualified: string,
  mode: TableRestoreMode,
): Promise<LiveTable> {
  const columns = await columnsOf(session, schema, name);
  if (columns === null) {
    throw new UsageError(
      `table ${qualified} does not exist in the configured database (${session.database}); ` +
        "to get it back, restore the whole backup into another database with --target-db. Nothing was changed.",
      "RESTORE_TABLE_INVALID",
    );
  }
  const pk = await session.query<{ col: string }>(
    `select a.attname as col
       from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
      where i.indrelid = $1::regclass and i.indisprimary
      order by array_position(i.indkey::int2[], a.attnum)`,
    [qualify(schema, name)],
  );
  const primaryKey = pk.map((r) => r.col);
  if (mode === "missing-rows" && primaryKey.length === 0) {
    throw new UsageError(
      `--mode missing-rows needs a primary key to tell missing rows apart, and table ${qualified} has none; ` +
        "use --mode append (inserts every row of the backup) or --mode replace. Nothing was changed.",
      "RESTORE_TABLE_INVALID",
    );
  }
  const cascading = (
    await session.query<{ d: string }>(
      `select format('%s on %s (ON DELETE %s)', con.conname, con.conrelid::regclass,
                     case con.confdeltype when 'c' then 'CASCADE' when 'n' then 'SET NULL' else 'SET DEFAULT' end) as d
         from pg_constraint con
        where con.contype = 'f' and con.confrelid = $1::regclass and con.conrelid <> con.confrelid
          and con.confdeltype in ('c', 'n', 'd')
        order by 1`,
      [qualify(schema, name)],
    )
  ).map((r) => r.d);
  if (mode === "replace" && cascading.length > 0) {
    throw new OperationFailedError(
      "RESTORE_BLOCKED",
      `--mode replace would delete every row of ${qualified}, and foreign key(s) ${cascading.join(", ")} would change ` +
        "rows of other tables with them; use --mode missing-rows (inserts only the missing rows, deletes nothing). Nothing was changed.",
      { details: { table: qualified, foreignKeys: cascading } },
    );
  }
  return { columns, primaryKey, cascading };
}

interface CopyPlan {
  schema: string;
  name: string;
  qualified: string;
  columns: string[];
  live: LiveTable;
  mode: TableRestoreMode;
  batchRows: number;
}

/** Read the backup's rows through a cursor in the scratch database, insert them in batches here. */
async function copyRows(scratch: Session, target: Session, plan: CopyPlan): Promise<TableRestoreCounts> {
  const table = qualify(plan.schema, plan.name);
  const cols = plan.columns.map(quoteIdent).join(", ");
  const counts: TableRestoreCounts = {
    inBackup: 0,
    inserted: 0,
    deleted: 0,
    skipped: 0,
    sequencesAdvanced: [],
  };
  // NO ACTION foreign keys that are deferrable are checked at commit, once the rows are back.
  await target.query("set constraints all deferred");
  if (plan.mode === "replace") {
    try {
      const [d] = await target.query<{ n: number }>(
        `with d as (delete from ${table} returning 1) select count(*)::int as n from d`,
      );
      counts.deleted = d?.n ?? 0;
    } catch (err) {
      throw blocked(err, plan.qualified);
    }
  }
  const conflict =
    plan.mode === "missing-rows"
      ? ` on conflict (${plan.live.primaryKey.map(quoteIdent).join(", ")}) do nothing`
      : "";
  const insert =
    `with i as (insert into ${table} (${cols}) overriding system value ` +
    `select ${cols} from jsonb_populate_recordset(null::${table}, $1::jsonb)${conflict} returning 1) ` +
    "select count(*)::int as n from i";
  await scratch.query("begin isolation level repeatable read read only");
  try {
    await scratch.query(
      `declare backup_rows no scroll cursor for select to_jsonb(t)::text as r from ${table} t`,
    );
    for (;;) {
      const rows = await scratch.query<{ r: string }>(`fetch ${plan.batchRows} from backup_rows`);
      if (rows.length === 0) break;
      counts.inBackup += rows.length;
      try {
        const [i] = await target.query<{ n: number }>(insert, [`[${rows.map((r) => r.r).join(",")}]`]);
        counts.inserted += i?.n ?? 0;
      } catch (err) {
        throw duplicate(err, plan);
      }
    }
  } finally {
    await scratch.query("rollback").catch(() => {});
  }
  counts.skipped = counts.inBackup - counts.inserted;
  counts.sequencesAdvanced = await advanceSequences(target, table);
  return counts;
}

/**
 * In the restore's transaction: every ascending sequence owned by a column of `table` set to at
 * least the column's highest value. Rows came back with their keys; the sequence did not move.
 */
async function advanceSequences(target: Session, table: string): Promise<string[]> {
  const owned = await target.query<{ seq: string; col: string }>(
    `select format('%I.%I', n.nspname, c.relname) as seq, a.attname::text as col
       from pg_depend d
       join pg_class c on c.oid = d.objid and c.relkind = 'S'
       join pg_namespace n on n.oid = c.relnamespace
       join pg_sequence q on q.seqrelid = c.oid and q.seqincrement > 0
       join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
      where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
        and d.refobjid = $1::regclass and d.deptype in ('a', 'i')`,
    [table],
  );
  const advanced: string[] = [];
  for (const { seq, col } of owned) {
    const moved = await target.query(
      `select setval($1::regclass, x.m, true)
         from (select max(${quoteIdent(col)})::bigint as m from ${table}) x,
              (select case when is_called then last_value else last_value - 1 end as used from ${seq}) s
        where x.m is not null and x.m > s.used`,
      [seq],
    );
    if (moved.length > 0) advanced.push(seq);
  }
  return advanced;
}

function blocked(err: unknown, table: string): unknown {
  if (!(err instanceof SqlError) || err.server.sqlstate !== "23503") return err;
  return new OperationFailedError(
    "RESTORE_BLOCKED",
    `--mode replace cannot delete the rows of ${table}: rows of ${err.server.table ?? "another table"} still reference them ` +
      `(foreign key ${err.server.constraint ?? "?"}); use --mode missing-rows (inserts only the missing rows, deletes nothing). Nothing was changed.`,
    { cause: err, details: { table, constraint: err.server.constraint } },
  );
}

function duplicate(err: unknown, plan: CopyPlan): unknown {
  if (err instanceof SqlError && err.server.sqlstate === "23503") {
    return new OperationFailedError(
      "RESTORE_BLOCKED",
      `the restored rows of ${plan.qualified} reference rows that are not there (foreign key ${err.server.constraint ?? "?"}): ` +
        "restore the referenced table first (confiture restore FILE --table <it> --mode missing-rows), then this one. Nothing was changed.",
      { cause: err, details: { table: plan.qualified, constraint: err.server.constraint } },
    );
  }
  if (!(err instanceof SqlError) || err.server.sqlstate !== "23505") return err;
  const hint =
    plan.mode === "missing-rows"
      ? "a row missing by primary key clashes with a present row on another unique key"
      : "the backup holds rows whose key is already present";
  return new OperationFailedError(
    "SQL_ERROR",
    `--mode ${plan.mode}: ${hint} in ${plan.qualified} (${err.server.constraint ?? "unique constraint"}${
      err.server.detail ? `: ${err.server.detail}` : ""
    })${plan.mode === "append" ? "; use --mode missing-rows to insert only the missing rows" : ""}. Nothing was changed.`,
    { cause: err, details: { table: plan.qualified, constraint: err.server.constraint } },
  );
}
