/**
 * What a backup's metadata says about the database, read inside the transaction whose snapshot
 * pg_dump uses: the migration history (applied count, head), the managed schema's fingerprint,
 * and its tables' row counts. Confiture's own tables are left out of fingerprint and counts
 * (they are in the dump all the same).
 */
import { introspectSchema, type SchemaModel, schemaFingerprint } from "../catalog/index.js";
import { qualify } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { type HistoryStore, type HistoryTables, ownRelations } from "../history/index.js";
import { newestFirst } from "../migrations/history-checks.js";
import type { BackupMetadata } from "./metadata.js";

/** The facts of one instant. */
export type SnapshotFacts = Pick<BackupMetadata, "migrations" | "fingerprint" | "rowCounts" | "snapshot">;

/** Counting rows can take long on big tables: not Confiture's usual short query bound. */
const COUNT_EXTRA_MS = 6 * 60 * 60 * 1000;
/** Tables counted per statement. */
const COUNT_CHUNK = 100;

/**
 * Begin `repeatable read read only`, export the snapshot, and read the facts in it. The
 * transaction stays open (pg_dump imports the snapshot): the caller ends it.
 *
 * @example const facts = await beginSnapshot(session, history, tables, { fast: false });
 */
export async function beginSnapshot(
  session: Session,
  history: HistoryStore,
  tables: HistoryTables,
  opts: { fast: boolean },
): Promise<SnapshotFacts> {
  await session.query("begin isolation level repeatable read read only");
  const [row] = await session.query<{ snapshot: string }>("select pg_export_snapshot() as snapshot");
  // exists() first: a failed read of a missing table would abort the transaction.
  const rows = (await history.exists()) ? await history.read() : [];
  const applied = rows.filter((r) => r.status !== "failed");
  const model = await introspectSchema(session, tables.schema, ownRelations(tables));
  const rowCounts = opts.fast
    ? { exact: false, tables: await estimateRows(session, model) }
    : { exact: true, tables: await countRows(session, model) };
  return {
    snapshot: row?.snapshot ?? null,
    migrations: {
      trackingTable: tables.trackingTable,
      appliedCount: applied.length,
      head: newestFirst(applied)[0]?.version ?? null,
    },
    fingerprint: schemaFingerprint(model),
    rowCounts,
  };
}

/** Tables whose rows are counted: plain and partitioned ones (a foreign table's rows live elsewhere). */
function countedTables(model: SchemaModel): string[] {
  return model.tables.filter((t) => t.kind !== "foreign table").map((t) => t.name);
}

async function countRows(session: Session, model: SchemaModel): Promise<Record<string, number>> {
  const names = countedTables(model);
  const counts: Record<string, number> = {};
  for (let i = 0; i < names.length; i += COUNT_CHUNK) {
    const chunk = names.slice(i, i + COUNT_CHUNK);
    const sql = chunk
      .map((name, j) => `select $${j + 1}::text as name, count(*) as n from ${qualify(model.schema, name)}`)
      .join(" union all ");
    const rows = await session.query<{ name: string; n: string }>(sql, chunk, { extraMs: COUNT_EXTRA_MS });
    for (const r of rows) counts[r.name] = Number(r.n);
  }
  return sortKeys(counts);
}

/**
 * `reltuples` as of the last VACUUM/ANALYZE; a partitioned table's is the sum of its leaf
 * partitions'. A table that was never analysed (`reltuples` -1, or 0 on a non-empty relation
 * before PostgreSQL 14) has no estimate: it is counted, so `--fast` never records 0 for rows
 * that exist.
 */
async function estimateRows(session: Session, model: SchemaModel): Promise<Record<string, number>> {
  const names = countedTables(model);
  const rows = await session.query<{ name: string; kind: string; n: string; size: string }>(
    `select c.relname as name, c.relkind as kind, pg_relation_size(c.oid)::text as size,
            case when c.relkind = 'p' then
              (select coalesce(sum(greatest(p.reltuples, 0)), 0)
                 from pg_partition_tree(c.oid) t join pg_class p on p.oid = t.relid where t.isleaf)
            else c.reltuples end::bigint::text as n
       from pg_class c join pg_namespace ns on ns.oid = c.relnamespace
      where ns.nspname = $1 and c.relname = any($2::text[])`,
    [model.schema, names],
  );
  const counts: Record<string, number> = {};
  const unanalysed: string[] = [];
  for (const r of rows) {
    const n = Number(r.n);
    if (r.kind !== "p" && n <= 0 && Number(r.size) > 0) unanalysed.push(r.name);
    else counts[r.name] = Math.max(0, n);
  }
  if (unanalysed.length > 0)
    Object.assign(
      counts,
      await countRows(session, { ...model, tables: model.tables.filter((t) => unanalysed.includes(t.name)) }),
    );
  return sortKeys(counts);
}

function sortKeys(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
