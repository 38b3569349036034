/**
 * What verify reads from the live catalogs of the managed schema, in a fixed number of queries
 * whatever the schema's size: introspection (indexes with validity, constraints), the foreign
 * keys with their columns, the owned sequences with their columns' max (one UNION ALL), and
 * pg_stat_user_tables. Only `--deep` runs one query per foreign key (an anti-join each), since
 * each may scan a large table. Confiture's own tables are never looked at.
 */
import { introspectSchema, type OwnRelations } from "../catalog/index.js";
import { qualify, quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { ConfitureError, ConnectionLostError } from "../errors.js";
import type { ForeignKeyFact, LiveFacts, SequenceFact } from "./verify-live-items.js";

const IN_SCHEMA = "(select oid from pg_namespace where nspname = $1)";

// Partition copies of a foreign key (conparentid <> 0) are checked through their parent.
const FOREIGN_KEYS_SQL = `
select r.relname::text as "table", k.conname::text as name, r.relkind::text as relkind,
       array(select a.attname::text from unnest(k.conkey) with ordinality u(n, o)
               join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n order by u.o) as columns,
       fn.nspname::text as "refSchema", f.relname::text as "refTable", f.relkind::text as "refKind",
       array(select a.attname::text from unnest(k.confkey) with ordinality u(n, o)
               join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.n order by u.o) as "refColumns",
       k.convalidated as validated, k.confmatchtype::text as match
  from pg_constraint k
  join pg_class r on r.oid = k.conrelid
  join pg_class f on f.oid = k.confrelid
  join pg_namespace fn on fn.oid = f.relnamespace
 where k.contype = 'f' and k.conparentid = 0
   and r.relnamespace = ${IN_SCHEMA} and r.relname = any($2::text[])
 order by r.relname, k.conname`;

// Serial and OWNED BY sequences depend on their column with deptype 'a', identity ones with 'i'.
const OWNED_SEQUENCES_SQL = `
select c.relname::text as name, r.relname::text as "table", a.attname::text as "column",
       s.seqincrement::text as increment
  from pg_sequence s
  join pg_class c on c.oid = s.seqrelid
  join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = c.oid
                  and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
  join pg_class r on r.oid = d.refobjid and r.relnamespace = c.relnamespace
  join pg_attribute a on a.attrelid = r.oid and a.attnum = d.refobjsubid
 where c.relnamespace = ${IN_SCHEMA} and r.relname = any($2::text[])
 order by c.relname`;

// A restore brings rows but no statistics. pg_stats counts too: statistics that came with the
// data (pg_restore of a PostgreSQL 18 dump) or from an ANALYZE whose cumulative stats are not
// flushed yet are statistics all the same.
const STATS_SQL = `
select s.relname::text as "table", s.n_live_tup::text as live, s.n_mod_since_analyze::text as modified,
       (s.last_analyze is not null or s.last_autoanalyze is not null
        or exists (select from pg_stats p where p.schemaname = s.schemaname and p.tablename = s.relname)) as analysed
  from pg_stat_user_tables s
 where s.schemaname = $1 and s.relname = any($2::text[])
 order by s.relname`;

/** Bound of one orphan count or sequence read: they scan user tables, which may be large. */
const SCAN_EXTRA_MS = 6 * 60 * 60 * 1000;

/**
 * Read the live facts of `schema`. With `deep`, also count orphan rows per foreign key
 * (`onProgress` is told before each count).
 */
export async function readLiveFacts(
  session: Session,
  schema: string,
  own: OwnRelations,
  opts: { deep: boolean; onProgress?: ((message: string) => void) | undefined },
): Promise<LiveFacts> {
  const model = await introspectSchema(session, schema, own);
  const tables = model.tables.map((t) => t.name);
  const params = [schema, tables];
  const foreignKeys = await session.query<ForeignKeyFact>(FOREIGN_KEYS_SQL, params);
  const owned = await session.query<Omit<SequenceFact, "lastValue" | "isCalled" | "columnEdge">>(
    OWNED_SEQUENCES_SQL,
    params,
  );
  const sequences = await sequenceStates(session, schema, owned);
  const stats = await session.query<{ table: string; live: string; modified: string; analysed: boolean }>(
    STATS_SQL,
    params,
  );
  return {
    database: session.database,
    tables,
    indexes: model.tables.flatMap((t) =>
      t.indexes.map((i) => ({ table: t.name, name: i.name, valid: i.valid, ready: i.ready })),
    ),
    constraints: model.tables.flatMap((t) =>
      t.constraints.map((k) => ({ table: t.name, name: k.name, kind: k.kind, validated: k.validated })),
    ),
    foreignKeys,
    orphans: opts.deep ? await countOrphans(session, schema, foreignKeys, opts.onProgress) : undefined,
    sequences,
    stats: stats.map((s) => ({
      table: s.table,
      liveRows: Number(s.live),
      modifiedSinceAnalyze: Number(s.modified),
      analysed: s.analysed,
    })),
  };
}

/**
 * Each owned sequence's last value and its column's max (min when it counts down), in one
 * UNION ALL query rather than one per sequence.
 */
async function sequenceStates(
  session: Session,
  schema: string,
  owned: Array<Omit<SequenceFact, "lastValue" | "isCalled" | "columnEdge">>,
): Promise<SequenceFact[]> {
  if (owned.length === 0) return [];
  const parts = owned.map((s, i) => {
    const edge = s.increment.startsWith("-") ? "min" : "max";
    return (
      `select ${i} as i, last_value::text as last, is_called as called, ` +
      `(select ${edge}(${quoteIdent(s.column)})::text from ${qualify(schema, s.table)}) as edge ` +
      `from ${qualify(schema, s.name)}`
    );
  });
  const rows = await session.query<{ i: number; last: string; called: boolean; edge: string | null }>(
    parts.join("\nunion all\n"),
    [],
    { extraMs: SCAN_EXTRA_MS },
  );
  const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
  return owned.map((s, i) => {
    const r = byIndex.get(i)!;
    return { ...s, lastValue: r.last, isCalled: r.called, columnEdge: r.edge };
  });
}

/**
 * The anti-join PostgreSQL's own check would make: rows whose key has no referenced row. MATCH
 * SIMPLE skips a row with any NULL key column; MATCH FULL skips only an all-NULL key (a partly
 * NULL one finds no match, as it should). ONLY on plain tables, as the foreign key itself
 * ignores inheritance children; a partitioned table is counted with its partitions.
 */
export function orphanCountSql(schema: string, fk: ForeignKeyFact): string {
  const only = (kind: string) => (kind === "p" ? "" : "only ");
  const cols = fk.columns.map((c) => `c.${quoteIdent(c)}`);
  const skip =
    fk.match === "f"
      ? `(${cols.map((c) => `${c} is not null`).join(" or ")})`
      : cols.map((c) => `${c} is not null`).join(" and ");
  const join = fk.refColumns.map((rc, i) => `p.${quoteIdent(rc)} = ${cols[i]}`).join(" and ");
  return (
    `select count(*)::text as n from ${only(fk.relkind)}${qualify(schema, fk.table)} c ` +
    `where ${skip} and not exists (select from ${only(fk.refKind)}${qualify(fk.refSchema, fk.refTable)} p where ${join})`
  );
}

async function countOrphans(
  session: Session,
  schema: string,
  foreignKeys: ForeignKeyFact[],
  onProgress: ((message: string) => void) | undefined,
): Promise<Map<string, number | { error: string }>> {
  const counts = new Map<string, number | { error: string }>();
  for (const [i, fk] of foreignKeys.entries()) {
    onProgress?.(`counting orphan rows of ${fk.table}.${fk.name} (${i + 1}/${foreignKeys.length})`);
    try {
      const [row] = await session.query<{ n: string }>(orphanCountSql(schema, fk), [], {
        extraMs: SCAN_EXTRA_MS,
      });
      counts.set(`${fk.table}.${fk.name}`, Number(row!.n));
    } catch (err) {
      // A statement_timeout or a permission error stops this count, not the others.
      if (err instanceof ConnectionLostError || !(err instanceof ConfitureError)) throw err;
      counts.set(`${fk.table}.${fk.name}`, { error: err.message });
    }
  }
  return counts;
}
