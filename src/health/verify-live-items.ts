/**
 * The checklist items read from the live catalogs (index validity, validated constraints and
 * foreign keys, orphan rows, owned sequences, planner statistics), and the safe repairs they
 * call for. Pure: verify-live.ts reads the facts, verify-fix.ts runs the repairs.
 */
import {
  type Expected,
  missingObjects,
  oneLine,
  PRESENCE_UNKNOWN,
  type PresenceKind,
  type Verdict,
  type VerifyItem,
} from "./verify-items.js";

export interface IndexFact {
  table: string;
  name: string;
  valid: boolean;
  ready: boolean;
}

export interface ConstraintFact {
  table: string;
  name: string;
  kind: string;
  validated: boolean;
}

export interface ForeignKeyFact {
  table: string;
  name: string;
  /** `r` (a plain table: counted with ONLY, as PostgreSQL checks it) or `p` (partitioned). */
  relkind: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refKind: string;
  refColumns: string[];
  validated: boolean;
  /** `s` MATCH SIMPLE (a row with any NULL key column is not checked), `f` MATCH FULL. */
  match: string;
}

/** An owned sequence and where it stands against its column. Values are integers as text. */
export interface SequenceFact {
  name: string;
  table: string;
  column: string;
  increment: string;
  lastValue: string;
  isCalled: boolean;
  /** max(column) for an ascending sequence, min(column) for a descending one; null when empty. */
  columnEdge: string | null;
}

export interface TableStatsFact {
  table: string;
  liveRows: number;
  modifiedSinceAnalyze: number;
  /** Analysed by hand or by autovacuum, or holding planner statistics (pg_stats) from anywhere. */
  analysed: boolean;
}

/** Everything verify reads from the live catalogs of the managed schema (Confiture's tables left out). */
export interface LiveFacts {
  database: string;
  tables: string[];
  indexes: IndexFact[];
  constraints: ConstraintFact[];
  foreignKeys: ForeignKeyFact[];
  /** With --deep: orphan rows per foreign key (`table.name`), or the error that stopped the count. */
  orphans: Map<string, number | { error: string }> | undefined;
  sequences: SequenceFact[];
  stats: TableStatsFact[];
}

/** A repair `--fix` may make: each one safe to run on a live database and reported on its own. */
export type Repair =
  | { item: "indexes"; kind: "reindex"; table: string; index: string }
  | { item: "indexes"; kind: "drop-leftover"; table: string; index: string; of: string }
  | {
      item: "sequences";
      kind: "setval";
      sequence: string;
      table: string;
      column: string;
      descending: boolean;
    }
  | { item: "statistics"; kind: "analyze"; table: string };

/**
 * An invalid index that a failed `REINDEX CONCURRENTLY` left behind: `<name>_ccnew` (the copy it
 * was building) or `<name>_ccold` (the original it could not drop). PostgreSQL's documented
 * recovery is to drop it, not to rebuild it; returns the index it belongs to, when that exists.
 */
export function leftoverOf(index: IndexFact, all: IndexFact[]): string | undefined {
  const m = /^(.+)_cc(new|old)\d*$/.exec(index.name);
  if (!m || index.valid) return undefined;
  return all.some((i) => i.table === index.table && i.name === m[1]) ? m[1] : undefined;
}

function presence(
  kind: PresenceKind,
  expected: Expected,
): { missing: string[]; unknown: string | undefined } {
  if (!expected.known) return { missing: [], unknown: PRESENCE_UNKNOWN };
  return { missing: missingObjects(expected.differences, kind), unknown: undefined };
}

/** FAIL when a half failed; otherwise SKIP when the presence half could not be checked. */
function verdictOf(failed: boolean, presenceUnknown: boolean): Verdict {
  return failed ? "FAIL" : presenceUnknown ? "SKIP" : "PASS";
}

/** `indexes`: every expected index exists, and every index is valid and ready (pg_index). */
export function indexesItem(facts: LiveFacts, expected: Expected): VerifyItem {
  const { missing, unknown } = presence("index", expected);
  const broken = facts.indexes.filter((i) => !i.valid || !i.ready);
  const lines = broken.map((i) => {
    const state = `${i.valid ? "" : "INVALID (indisvalid = false)"}${!i.valid && !i.ready ? ", " : ""}${i.ready ? "" : "not ready (indisready = false)"}`;
    const of = leftoverOf(i, facts.indexes);
    return oneLine(
      `${i.name} on ${i.table}: ${state}${of ? `, left by a failed REINDEX CONCURRENTLY of ${of} (drop it)` : ""}`,
    );
  });
  const failed = broken.length > 0 || missing.length > 0;
  const head = failed
    ? [
        ...(broken.length > 0 ? [`${broken.length} of ${facts.indexes.length} index(es) invalid`] : []),
        ...(missing.length > 0 ? [`${missing.length} expected index(es) missing`] : []),
      ].join("; ")
    : `${facts.indexes.length} index(es) valid and ready${unknown ? "; expected ones not checked" : ", all expected ones present"}`;
  return {
    name: "indexes",
    verdict: verdictOf(failed, unknown !== undefined),
    evidence: [head, ...lines, ...missing, ...(unknown ? [unknown] : [])],
  };
}

/** `constraints` (other than foreign keys): every expected one exists, none left NOT VALID. */
export function constraintsItem(facts: LiveFacts, expected: Expected): VerifyItem {
  const { missing, unknown } = presence("constraint", expected);
  const own = facts.constraints.filter((k) => k.kind !== "foreign key");
  const notValid = own.filter((k) => !k.validated);
  const failed = notValid.length > 0 || missing.length > 0;
  const head = failed
    ? [
        ...(notValid.length > 0 ? [`${notValid.length} constraint(s) NOT VALID`] : []),
        ...(missing.length > 0 ? [`${missing.length} expected constraint(s) missing`] : []),
      ].join("; ")
    : `${own.length} constraint(s) validated${unknown ? "; expected ones not checked" : ", all expected ones present"}`;
  return {
    name: "constraints",
    verdict: verdictOf(failed, unknown !== undefined),
    evidence: [
      head,
      ...notValid.map(
        (k) =>
          `${k.table}.${k.name} (${k.kind}): NOT VALID, rows written before it was added were never checked ` +
          `(ALTER TABLE ... VALIDATE CONSTRAINT ${k.name})`,
      ),
      ...missing,
      ...(unknown ? [unknown] : []),
    ],
  };
}

/** `orders.customer_id -> customers` (several columns: `orders(a, b) -> customers(x, y)`). */
export function describeForeignKey(fk: ForeignKeyFact, schema: string): string {
  const ref = fk.refSchema === schema ? fk.refTable : `${fk.refSchema}.${fk.refTable}`;
  return fk.columns.length === 1
    ? `${fk.table}.${fk.columns[0]} -> ${ref}`
    : `${fk.table}(${fk.columns.join(", ")}) -> ${ref}(${fk.refColumns.join(", ")})`;
}

/**
 * `foreign keys`: every foreign key validated (not NOT VALID), every expected one present; with
 * --deep, no orphan rows (counted per foreign key, as PostgreSQL's MATCH rule would check them).
 */
export function foreignKeysItem(facts: LiveFacts, expected: Expected, schema: string): VerifyItem {
  const missing = expected.known ? missingObjects(expected.differences, "foreign key") : [];
  const notValid = facts.foreignKeys.filter((k) => !k.validated);
  const lines: string[] = notValid.map(
    (k) =>
      `${k.table}.${k.name} (${describeForeignKey(k, schema)}): NOT VALID, existing rows were never checked ` +
      `(ALTER TABLE ... VALIDATE CONSTRAINT ${k.name})`,
  );
  let orphanRows = 0;
  let countFailed = 0;
  if (facts.orphans === undefined) {
    if (facts.foreignKeys.length > 0) lines.push("orphan rows not counted (use --deep)");
  } else {
    for (const fk of facts.foreignKeys) {
      const n = facts.orphans.get(`${fk.table}.${fk.name}`);
      if (n === undefined) continue;
      if (typeof n === "number") {
        orphanRows += n;
        if (n > 0) lines.push(`${describeForeignKey(fk, schema)}: ${n} orphan row(s)`);
      } else {
        countFailed++;
        lines.push(
          oneLine(`${describeForeignKey(fk, schema)}: orphan rows could not be counted: ${n.error}`),
        );
      }
    }
    if (orphanRows === 0 && countFailed === 0 && facts.foreignKeys.length > 0)
      lines.push(`no orphan rows in ${facts.foreignKeys.length} foreign key(s) (--deep)`);
  }
  lines.push(...missing);
  if (!expected.known) lines.push(PRESENCE_UNKNOWN);
  const failed = notValid.length > 0 || orphanRows > 0 || countFailed > 0 || missing.length > 0;
  const head = failed
    ? [
        ...(notValid.length > 0 ? [`${notValid.length} foreign key(s) NOT VALID`] : []),
        ...(orphanRows > 0 ? [`${orphanRows} orphan row(s)`] : []),
        ...(countFailed > 0 ? [`${countFailed} orphan count(s) failed`] : []),
        ...(missing.length > 0 ? [`${missing.length} expected foreign key(s) missing`] : []),
      ].join("; ")
    : `${facts.foreignKeys.length} foreign key(s) validated`;
  return { name: "foreign keys", verdict: failed ? "FAIL" : "PASS", evidence: [head, ...lines] };
}

/**
 * Where an owned sequence stands: the value `nextval` returns next (the start value when it
 * was never called), and whether it would collide with a value the column already holds.
 */
export function sequenceState(s: SequenceFact): { next: bigint; behind: boolean } | { comparable: false } {
  if (!/^-?\d+$/.test(s.lastValue) || !/^-?\d+$/.test(s.increment)) return { comparable: false };
  const increment = BigInt(s.increment);
  const next = s.isCalled ? BigInt(s.lastValue) + increment : BigInt(s.lastValue);
  if (s.columnEdge === null) return { next, behind: false };
  if (!/^-?\d+$/.test(s.columnEdge)) return { comparable: false };
  const edge = BigInt(s.columnEdge);
  return { next, behind: increment > 0n ? next <= edge : next >= edge };
}

/** `orders_id_seq (orders.id): last 10, column max 42`. */
export function describeSequence(s: SequenceFact): string {
  const edge = BigInt(s.increment) > 0n ? "max" : "min";
  const at = s.isCalled ? `last ${s.lastValue}` : `never used (next ${s.lastValue})`;
  return `${s.name} (${s.table}.${s.column}): ${at}, column ${edge} ${s.columnEdge ?? "none (empty)"}`;
}

/** `sequences`: every sequence owned by a column (serial, identity, OWNED BY) is past its column's values. */
export function sequencesItem(facts: LiveFacts): VerifyItem {
  const behind = facts.sequences.filter((s) => {
    const st = sequenceState(s);
    return "behind" in st && st.behind;
  });
  const odd = facts.sequences.filter((s) => !("behind" in sequenceState(s)));
  if (behind.length === 0) {
    return {
      name: "sequences",
      verdict: "PASS",
      evidence: [
        `${facts.sequences.length - odd.length} owned sequence(s) ahead of their columns`,
        ...odd.map((s) => `${s.name} (${s.table}.${s.column}): not compared, the column is not an integer`),
      ],
    };
  }
  return {
    name: "sequences",
    verdict: "FAIL",
    evidence: [
      `${behind.length} sequence(s) behind their column: the next insert would reuse an existing value`,
      ...behind.map(describeSequence),
    ],
  };
}

/**
 * Tables smaller than this are not flagged for missing statistics: the planner still knows their
 * size in pages, and a few hundred rows seeded by a migration are no plan's problem (autovacuum
 * analyses them once they grow). A restored table of real size without statistics is.
 */
export const STATISTICS_MIN_ROWS = 1000;

const rowsOf = (t: LiveFacts["stats"][number]) => Math.max(t.liveRows, t.modifiedSinceAnalyze);
const needsStatistics = (t: LiveFacts["stats"][number]) => !t.analysed && rowsOf(t) >= STATISTICS_MIN_ROWS;

/** `statistics`: every table of some size has planner statistics (a restore brings none). */
export function statisticsItem(facts: LiveFacts): VerifyItem {
  const sized = facts.stats.filter((t) => rowsOf(t) >= STATISTICS_MIN_ROWS);
  const missing = sized.filter((t) => !t.analysed);
  if (missing.length === 0) {
    return {
      name: "statistics",
      verdict: "PASS",
      evidence: [
        `planner statistics present for ${sized.length} table(s) of ${STATISTICS_MIN_ROWS} rows or more`,
      ],
    };
  }
  return {
    name: "statistics",
    verdict: "FAIL",
    evidence: [
      `${missing.length} table(s) of ${STATISTICS_MIN_ROWS} rows or more were never analysed: the planner guesses (run ANALYZE)`,
      ...missing.map((t) => `${t.table}: ~${rowsOf(t)} row(s), never analysed`),
    ],
  };
}

/** The safe repairs the facts call for, in the order they run: indexes, sequences, statistics. */
export function repairsFor(facts: LiveFacts): Repair[] {
  const repairs: Repair[] = [];
  const broken = facts.indexes.filter((i) => !i.valid || !i.ready);
  // Leftovers first: the rebuild of their index then starts from a clean table.
  for (const i of broken) {
    const of = leftoverOf(i, facts.indexes);
    if (of) repairs.push({ item: "indexes", kind: "drop-leftover", table: i.table, index: i.name, of });
  }
  for (const i of broken) {
    if (!leftoverOf(i, facts.indexes))
      repairs.push({ item: "indexes", kind: "reindex", table: i.table, index: i.name });
  }
  for (const s of facts.sequences) {
    const st = sequenceState(s);
    if (!("behind" in st) || !st.behind) continue;
    repairs.push({
      item: "sequences",
      kind: "setval",
      sequence: s.name,
      table: s.table,
      column: s.column,
      descending: BigInt(s.increment) < 0n,
    });
  }
  for (const t of facts.stats) {
    if (needsStatistics(t)) repairs.push({ item: "statistics", kind: "analyze", table: t.table });
  }
  return repairs;
}
