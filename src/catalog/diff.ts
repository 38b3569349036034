/**
 * The differences between two schema models: what drift-detect reports (expected = the schema
 * the migrations produce, actual = the live one). Objects are matched by name (functions by
 * signature); each difference says which object, whether it is missing, extra or changed, and
 * the expected and actual values of what changed, so a person can see the drift without diffing
 * DDL by eye. Results are grouped by table (objects outside tables last) in a stable order.
 */
import type { SchemaModel, TableInfo } from "./introspect.js";

export interface SchemaDifference {
  /** e.g. `table users`, `column users.email`, `index orders_big`, `function touch()`. */
  object: string;
  /** The table the object belongs to (for grouping), or null for views, functions, types, ... */
  table: string | null;
  kind: "missing" | "extra" | "changed";
  /** For `changed`: which property (`type`, `default`, `valid`, `definition`, `column order`, ...). */
  property: string | null;
  /** The expected value (for `missing`: the object's definition or summary); null when extra. */
  expected: string | null;
  /** The live value (for `extra`: the object's definition or summary); null when missing. */
  actual: string | null;
}

type Named = { name: string };

/**
 * Every difference between `expected` and `actual`, grouped by table then object.
 *
 * @example diffSchemas(fromMigrations, live).filter((d) => d.kind === "changed")
 */
export function diffSchemas(expected: SchemaModel, actual: SchemaModel): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  diffNamed(out, expected.tables, actual.tables, {
    object: (t) => `table ${t.name}`,
    table: (t) => t.name,
    summary: tableSummary,
    compare: (e, a) => diffTable(e, a, out),
  });
  diffNamed(out, expected.views, actual.views, {
    object: viewName,
    summary: (v) => v.definition,
    properties: (e, a) => ({
      materialized: [e.materialized, a.materialized],
      definition: [e.definition, a.definition],
    }),
  });
  // A serial or identity sequence comes and goes with its column: when that column (or its
  // table) is itself missing or extra, the sequence is not reported a second time.
  const columnsOf = (m: SchemaModel) =>
    new Set(m.tables.flatMap((t) => t.columns.map((c) => `${t.name}.${c.name}`)));
  const expectedColumns = columnsOf(expected);
  const liveColumns = columnsOf(actual);
  const withColumnOnBothSides = (q: SchemaModel["sequences"][number]) =>
    q.ownedBy === null || (expectedColumns.has(q.ownedBy) && liveColumns.has(q.ownedBy));
  const sequenceNames = (m: SchemaModel) => new Set(m.sequences.map((q) => q.name));
  const inBoth = (names: Set<string>) => (q: SchemaModel["sequences"][number]) => names.has(q.name);
  diffNamed(
    out,
    expected.sequences.filter((q) => withColumnOnBothSides(q) || inBoth(sequenceNames(actual))(q)),
    actual.sequences.filter((q) => withColumnOnBothSides(q) || inBoth(sequenceNames(expected))(q)),
    {
      object: (q) => `sequence ${q.name}`,
      summary: (q) => q.type,
      properties: (e, a) => ({
        type: [e.type, a.type],
        start: [e.start, a.start],
        increment: [e.increment, a.increment],
        min: [e.min, a.min],
        max: [e.max, a.max],
        cycle: [e.cycle, a.cycle],
        "owned by": [e.ownedBy, a.ownedBy],
      }),
    },
  );
  const bySignature = (list: SchemaModel["functions"]) => list.map((f) => ({ ...f, name: f.signature }));
  diffNamed(out, bySignature(expected.functions), bySignature(actual.functions), {
    object: (f) => `${f.kind} ${f.name}`,
    summary: (f) => f.definition,
    properties: (e, a) => ({ kind: [e.kind, a.kind], definition: [e.definition, a.definition] }),
  });
  diffNamed(out, expected.types, actual.types, {
    object: (t) => `${t.kind} ${t.name}`,
    summary: (t) => t.definition,
    properties: (e, a) => ({ kind: [e.kind, a.kind], definition: [e.definition, a.definition] }),
  });
  // Extensions belong to the whole database: one installed by hand (or by another application)
  // in another schema is not this schema's drift. Missing or changed ones always count.
  const expectedExtensions = new Set(expected.extensions.map((x) => x.name));
  const liveExtensions = actual.extensions.filter(
    (x) => x.schema === actual.schema || expectedExtensions.has(x.name),
  );
  diffNamed(out, expected.extensions, liveExtensions, {
    object: (x) => `extension ${x.name}`,
    summary: (x) => x.version,
    properties: (e, a) => ({ version: [e.version, a.version], schema: [e.schema, a.schema] }),
  });
  const unknownOf = (m: SchemaModel) => m.unknown.map((u) => ({ ...u, name: `${u.kind} ${u.name}` }));
  diffNamed(out, unknownOf(expected), unknownOf(actual), { object: (u) => u.name, summary: (u) => u.kind });
  // Grouped by table (tables first, by name), then everything else; stable within a group.
  return out
    .map((d, i) => ({ d, i }))
    .sort((x, y) => compareText(groupKey(x.d), groupKey(y.d)) || x.i - y.i)
    .map(({ d }) => d);
}

function diffTable(e: TableInfo, a: TableInfo, out: SchemaDifference[]): void {
  const t = a.name;
  compare(out, `table ${t}`, t, {
    kind: [e.kind, a.kind],
    "row level security": [e.rowSecurity, a.rowSecurity],
    "partition of": [e.partitionOf, a.partitionOf],
    "partition bound": [e.partitionBound, a.partitionBound],
  });
  const inTable = { table: () => t };
  diffNamed(out, e.columns, a.columns, {
    ...inTable,
    object: (c) => `column ${t}.${c.name}`,
    summary: (c) => c.type,
    properties: (ec, ac) => ({
      type: [ec.type, ac.type],
      "not null": [ec.notNull, ac.notNull],
      default: [ec.default, ac.default],
      identity: [ec.identity, ac.identity],
      generated: [ec.generated, ac.generated],
      collation: [ec.collation, ac.collation],
    }),
  });
  // PostgreSQL cannot reorder columns with DDL: a different order is reported, not hidden.
  const common = new Set(e.columns.map((c) => c.name).filter((n) => a.columns.some((c) => c.name === n)));
  const order = (cols: TableInfo["columns"]) =>
    cols
      .map((c) => c.name)
      .filter((n) => common.has(n))
      .join(", ");
  if (order(e.columns) !== order(a.columns)) {
    out.push({
      object: `table ${t}`,
      table: t,
      kind: "changed",
      property: "column order",
      expected: order(e.columns),
      actual: order(a.columns),
    });
  }
  diffNamed(out, e.constraints, a.constraints, {
    ...inTable,
    object: (k) => `constraint ${t}.${k.name}`,
    summary: (k) => `${k.definition}${k.validated ? "" : " NOT VALID"}`,
    properties: (ek, ak) => ({
      definition: [ek.definition, ak.definition],
      validated: [ek.validated, ak.validated],
      deferrable: [ek.deferrable, ak.deferrable],
      "initially deferred": [ek.initiallyDeferred, ak.initiallyDeferred],
    }),
  });
  diffNamed(out, e.indexes, a.indexes, {
    ...inTable,
    object: (x) => `index ${x.name}`,
    summary: (x) => `${x.definition}${x.valid ? "" : " (INVALID)"}`,
    properties: (ex, ax) => ({
      definition: [ex.definition, ax.definition],
      valid: [ex.valid, ax.valid],
      ready: [ex.ready, ax.ready],
    }),
  });
  diffNamed(out, e.policies, a.policies, {
    ...inTable,
    object: (x) => `policy ${t}.${x.name}`,
    summary: (x) => x.definition,
    properties: (ex, ax) => ({ definition: [ex.definition, ax.definition] }),
  });
  diffNamed(out, e.triggers, a.triggers, {
    ...inTable,
    object: (g) => `trigger ${t}.${g.name}`,
    summary: (g) => g.definition,
    properties: (eg, ag) => ({
      definition: [eg.definition, ag.definition],
      enabled: [eg.enabled, ag.enabled],
    }),
  });
}

/**
 * Match two lists by name: `missing` for an expected one not found, `extra` for a live one not
 * expected (each with its summary), and for a pair either `compare` (nested objects) or one
 * `changed` difference per differing property.
 */
function diffNamed<T extends Named>(
  out: SchemaDifference[],
  expected: T[],
  actual: T[],
  how: {
    object: (x: T) => string;
    table?: (x: T) => string;
    summary: (x: T) => string | null;
    properties?: (e: T, a: T) => Record<string, [unknown, unknown]>;
    compare?: (e: T, a: T) => void;
  },
): void {
  const entry = (x: T, kind: "missing" | "extra"): SchemaDifference => ({
    object: how.object(x),
    table: how.table?.(x) ?? null,
    kind,
    property: null,
    expected: kind === "missing" ? how.summary(x) : null,
    actual: kind === "extra" ? how.summary(x) : null,
  });
  const live = new Map(actual.map((a) => [a.name, a]));
  const wanted = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    const a = live.get(e.name);
    if (a === undefined) out.push(entry(e, "missing"));
    else if (how.compare) how.compare(e, a);
    else if (how.properties) compare(out, how.object(a), how.table?.(a) ?? null, how.properties(e, a));
  }
  for (const a of actual) if (!wanted.has(a.name)) out.push(entry(a, "extra"));
}

/** One `changed` difference per property whose expected and actual values differ. */
function compare(
  out: SchemaDifference[],
  object: string,
  table: string | null,
  properties: Record<string, [unknown, unknown]>,
): void {
  for (const [property, [e, a]] of Object.entries(properties)) {
    if (e !== a) out.push({ object, table, kind: "changed", property, expected: shown(e), actual: shown(a) });
  }
}

function shown(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function tableSummary(t: TableInfo): string {
  return `${t.kind} (${t.columns.map((c) => `${c.name} ${c.type}`).join(", ")})`;
}

function viewName(v: { name: string; materialized: boolean }): string {
  return `${v.materialized ? "materialized view" : "view"} ${v.name}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tables' differences first, by table name; then the rest. */
function groupKey(d: SchemaDifference): string {
  return d.table === null ? "\u0001" : `\u0000${d.table}`;
}
