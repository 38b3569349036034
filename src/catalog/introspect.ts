/**
 * Introspection: one schema's objects read from the catalogs into one model, in nine queries
 * whatever the schema's size (never one query per table). Definitions come from PostgreSQL's own
 * deparsers (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`,
 * `pg_get_triggerdef`, `format_type`, `pg_get_expr`), so two schemas built by the same DDL read
 * the same. Left out: objects that belong to an extension (the extension itself is listed) and
 * the relations named as the caller's own (Confiture's history tables). A relation of a kind this
 * code does not know is listed in `unknown`, never dropped silently and never a crash.
 */
import { hash } from "node:crypto";
import type { Session } from "../db/session.js";
import { type OwnRelations, ownRelation } from "./user-objects.js";

export interface ColumnInfo {
  name: string;
  /** `format_type` with modifiers, e.g. `character varying(20)`, `numeric(10,2)`, `integer[]`. */
  type: string;
  notNull: boolean;
  default: string | null;
  identity: "always" | "by default" | null;
  /** The expression of a `GENERATED ALWAYS AS (...) STORED` column. */
  generated: string | null;
  /** Set only when not the type's default collation. */
  collation: string | null;
}

export interface ConstraintInfo {
  name: string;
  kind: "primary key" | "unique" | "check" | "foreign key" | "exclusion" | "trigger";
  /** `pg_get_constraintdef`, e.g. `FOREIGN KEY (user_id) REFERENCES app.users(id) ON DELETE CASCADE`. */
  definition: string;
  /** False for a constraint added `NOT VALID` and not validated since. */
  validated: boolean;
  deferrable: boolean;
  initiallyDeferred: boolean;
}

export interface IndexInfo {
  name: string;
  /** `pg_get_indexdef`: method, columns or expressions, `WHERE` predicate, `INCLUDE`. */
  definition: string;
  unique: boolean;
  primary: boolean;
  /** False when a `CREATE INDEX CONCURRENTLY` failed and left it behind (`pg_index.indisvalid`). */
  valid: boolean;
  /** False while it cannot take inserts yet (`indisready`). */
  ready: boolean;
  /** The partial index's predicate, or null. */
  predicate: string | null;
}

export interface TriggerInfo {
  name: string;
  definition: string;
  /** `ALTER TABLE ... DISABLE TRIGGER` makes it `disabled`. */
  enabled: "origin" | "always" | "replica" | "disabled";
}

/** A row-level security policy (`CREATE POLICY`). */
export interface PolicyInfo {
  name: string;
  /** `AS PERMISSIVE FOR SELECT TO app USING (...) WITH CHECK (...)`, roles sorted. */
  definition: string;
}

export interface TableInfo {
  name: string;
  kind: "table" | "partitioned table" | "foreign table";
  /** `ALTER TABLE ... ENABLE ROW LEVEL SECURITY` (`on`), plus `FORCE` (`forced`). */
  rowSecurity: "off" | "on" | "forced";
  /** For a partition: its parent, and the bound (`FOR VALUES ...`). */
  partitionOf: string | null;
  partitionBound: string | null;
  /** In column order: PostgreSQL cannot reorder columns with DDL, so order is part of the model. */
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
  triggers: TriggerInfo[];
  policies: PolicyInfo[];
}

export interface ViewInfo {
  name: string;
  materialized: boolean;
  definition: string;
}

export interface SequenceInfo {
  name: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cycle: boolean;
  /** `table.column` for a serial or identity sequence. */
  ownedBy: string | null;
}

export interface FunctionInfo {
  /** `name(argument types)`: the identity PostgreSQL overloads on. */
  signature: string;
  kind: "function" | "procedure" | "aggregate" | "window";
  /** `pg_get_functiondef` (null for aggregates, which have none). */
  definition: string | null;
}

export interface TypeInfo {
  name: string;
  kind: "enum" | "domain" | "composite" | "range";
  /** Enum labels in order; a domain's base type, default and constraints; a composite's attributes; a range's subtype. */
  definition: string;
}

export interface ExtensionInfo {
  name: string;
  version: string;
  schema: string;
}

/** Everything introspection read about one schema. Arrays are sorted by name (columns by position). */
export interface SchemaModel {
  schema: string;
  tables: TableInfo[];
  views: ViewInfo[];
  sequences: SequenceInfo[];
  functions: FunctionInfo[];
  types: TypeInfo[];
  /** Extensions installed in the database (their member objects are not listed one by one). */
  extensions: ExtensionInfo[];
  /** Relations of a kind this version does not model: reported, not hidden. */
  unknown: Array<{ kind: string; name: string }>;
}

// Shared filters: objects in the schema ($1) that no extension owns.
const IN_SCHEMA = "(select oid from pg_namespace where nspname = $1)";
const NOT_EXTENSION = (catalog: string, oid: string) =>
  `not exists (select from pg_depend e where e.classid = '${catalog}'::regclass and e.objid = ${oid} and e.deptype = 'e')`;

const RELATIONS_SQL = `
select c.relname::text as name, c.relkind::text as relkind,
       case when c.relispartition then (select p.relname::text from pg_inherits i join pg_class p on p.oid = i.inhparent where i.inhrelid = c.oid) end as parent,
       case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end as bound,
       case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as view_definition,
       case when c.relforcerowsecurity then 'forced' when c.relrowsecurity then 'on' else 'off' end as row_security,
       coalesce((
         select json_agg(json_build_object(
                  'name', a.attname::text,
                  'type', format_type(a.atttypid, a.atttypmod),
                  'notNull', a.attnotnull,
                  'default', case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end,
                  'identity', case a.attidentity when 'a' then 'always' when 'd' then 'by default' end,
                  'generated', case when a.attgenerated <> '' then pg_get_expr(d.adbin, d.adrelid) end,
                  'collation', case when a.attcollation <> t.typcollation then (select collname::text from pg_collation where oid = a.attcollation) end
                ) order by a.attnum)
           from pg_attribute a
           join pg_type t on t.oid = a.atttypid
           left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]') as columns
  from pg_class c
 where c.relnamespace = ${IN_SCHEMA}
   and c.relkind not in ('i', 'I', 't', 'c')
   and not (c.relkind = 'S')
   and not ${ownRelation("c.relname")}
   and ${NOT_EXTENSION("pg_class", "c.oid")}
 order by c.relname`;

const CONSTRAINTS_SQL = `
select r.relname::text as "table", k.conname::text as name, k.contype::text as contype,
       -- NOT VALID is reported by convalidated, so one change is reported once
       regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', '') as definition, k.convalidated as validated,
       k.condeferrable as deferrable, k.condeferred as deferred
  from pg_constraint k join pg_class r on r.oid = k.conrelid
 where r.relnamespace = ${IN_SCHEMA} and not ${ownRelation("r.relname")}
   and ${NOT_EXTENSION("pg_class", "r.oid")}
 order by r.relname, k.conname`;

const INDEXES_SQL = `
select r.relname::text as "table", c.relname::text as name, pg_get_indexdef(c.oid) as definition,
       x.indisunique as unique, x.indisprimary as primary, x.indisvalid as valid, x.indisready as ready,
       pg_get_expr(x.indpred, x.indrelid) as predicate
  from pg_index x join pg_class c on c.oid = x.indexrelid join pg_class r on r.oid = x.indrelid
 where r.relnamespace = ${IN_SCHEMA} and not ${ownRelation("r.relname")}
   and ${NOT_EXTENSION("pg_class", "r.oid")}
 order by r.relname, c.relname`;

const TRIGGERS_SQL = `
select r.relname::text as "table", g.tgname::text as name, pg_get_triggerdef(g.oid) as definition,
       g.tgenabled::text as enabled
  from pg_trigger g join pg_class r on r.oid = g.tgrelid
 where r.relnamespace = ${IN_SCHEMA} and not g.tgisinternal and not ${ownRelation("r.relname")}
   and ${NOT_EXTENSION("pg_class", "r.oid")}
 order by r.relname, g.tgname`;

const POLICIES_SQL = `
select r.relname::text as "table", p.polname::text as name,
       'AS ' || case when p.polpermissive then 'PERMISSIVE' else 'RESTRICTIVE' end
       || ' FOR ' || case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end
       || ' TO ' || (select string_agg(case when o = 0 then 'public' else quote_ident(pg_get_userbyid(o)) end, ', ' order by 1)
                      from unnest(p.polroles) o)
       || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
       || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') as definition
  from pg_policy p join pg_class r on r.oid = p.polrelid
 where r.relnamespace = ${IN_SCHEMA} and not ${ownRelation("r.relname")}
   and ${NOT_EXTENSION("pg_class", "r.oid")}
 order by r.relname, p.polname`;

const SEQUENCES_SQL = `
select c.relname::text as name, format_type(s.seqtypid, null) as type, s.seqstart::text as start,
       s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max, s.seqcycle as cycle,
       (select r.relname || '.' || a.attname
          from pg_depend d join pg_class r on r.oid = d.refobjid
          join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
           and d.deptype in ('a', 'i')) as "ownedBy"
  from pg_sequence s join pg_class c on c.oid = s.seqrelid
 where c.relnamespace = ${IN_SCHEMA} and ${NOT_EXTENSION("pg_class", "c.oid")}
   and not ${ownRelation("c.relname")}
   -- a sequence owned by one of the caller's own tables (confiture_events.id) is the caller's too
   and not exists (select from pg_depend d join pg_class r on r.oid = d.refobjid
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
                      and d.deptype in ('a', 'i') and ${ownRelation("r.relname")})
 order by c.relname`;

const FUNCTIONS_SQL = `
select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as signature,
       p.prokind::text as prokind,
       case when p.prokind <> 'a' then pg_get_functiondef(p.oid) end as definition
  from pg_proc p
 where p.pronamespace = ${IN_SCHEMA} and ${NOT_EXTENSION("pg_proc", "p.oid")}
   -- constructors PostgreSQL made for a range type belong to that type
   and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'i')
 order by 1`;

const TYPES_SQL = `
select t.typname::text as name, t.typtype::text as typtype,
       case t.typtype
         when 'e' then (select string_agg(quote_literal(e.enumlabel), ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
         when 'd' then format_type(t.typbasetype, t.typtypmod)
                       || case when t.typnotnull then ' NOT NULL' else '' end
                       || coalesce(' DEFAULT ' || t.typdefault, '')
                       || coalesce((select ' ' || string_agg(pg_get_constraintdef(k.oid), ' ' order by k.conname) from pg_constraint k where k.contypid = t.oid), '')
         when 'c' then (select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum)
                          from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped)
         when 'r' then (select format_type(r.rngsubtype, null) from pg_range r where r.rngtypid = t.oid)
       end as definition
  from pg_type t
 where t.typnamespace = ${IN_SCHEMA}
   and (t.typtype in ('e', 'd', 'r') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
   and ${NOT_EXTENSION("pg_type", "t.oid")}
 order by t.typname`;

const EXTENSIONS_SQL = `
select x.extname::text as name, x.extversion as version, n.nspname::text as schema
  from pg_extension x join pg_namespace n on n.oid = x.extnamespace
 where x.extname <> 'plpgsql'
 order by x.extname`;

const TABLE_KINDS: Record<string, TableInfo["kind"]> = {
  r: "table",
  p: "partitioned table",
  f: "foreign table",
};
const CONSTRAINT_KINDS: Record<string, ConstraintInfo["kind"]> = {
  p: "primary key",
  u: "unique",
  c: "check",
  f: "foreign key",
  x: "exclusion",
  t: "trigger",
};
const TRIGGER_STATES: Record<string, TriggerInfo["enabled"]> = {
  O: "origin",
  A: "always",
  R: "replica",
  D: "disabled",
};
const FUNCTION_KINDS: Record<string, FunctionInfo["kind"]> = {
  f: "function",
  p: "procedure",
  a: "aggregate",
  w: "window",
};
const TYPE_KINDS: Record<string, TypeInfo["kind"]> = { e: "enum", d: "domain", c: "composite", r: "range" };

/**
 * Read `schema` into a SchemaModel (nine catalog queries).
 *
 * @example const model = await introspectSchema(session, "public", { names: ["confiture_migrations", "confiture_events"] });
 */
export async function introspectSchema(
  session: Session,
  schema: string,
  own: OwnRelations,
): Promise<SchemaModel> {
  const params = [schema, own.names, own.backupsOf ?? null];
  // One after another on the one connection (pg queues them anyway); no result depends on another.
  const relations = await session.query<{
    name: string;
    relkind: string;
    parent: string | null;
    bound: string | null;
    view_definition: string | null;
    row_security: TableInfo["rowSecurity"];
    columns: ColumnInfo[];
  }>(RELATIONS_SQL, params);
  const constraints = await session.query<{
    table: string;
    name: string;
    contype: string;
    definition: string;
    validated: boolean;
    deferrable: boolean;
    deferred: boolean;
  }>(CONSTRAINTS_SQL, params);
  const indexes = await session.query<IndexInfo & { table: string }>(INDEXES_SQL, params);
  const triggers = await session.query<{ table: string; name: string; definition: string; enabled: string }>(
    TRIGGERS_SQL,
    params,
  );
  const policies = await session.query<PolicyInfo & { table: string }>(POLICIES_SQL, params);
  const sequences = await session.query<SequenceInfo>(SEQUENCES_SQL, params);
  const functions = await session.query<{ signature: string; prokind: string; definition: string | null }>(
    FUNCTIONS_SQL,
    [schema],
  );
  const types = await session.query<{ name: string; typtype: string; definition: string | null }>(TYPES_SQL, [
    schema,
  ]);
  const extensions = await session.query<ExtensionInfo>(EXTENSIONS_SQL);

  const model: SchemaModel = {
    schema,
    tables: [],
    views: [],
    sequences,
    functions: functions.map((f) => ({
      signature: f.signature,
      kind: FUNCTION_KINDS[f.prokind] ?? "function",
      definition: f.definition,
    })),
    types: types.map((t) => ({
      name: t.name,
      kind: TYPE_KINDS[t.typtype] ?? "composite",
      definition: t.definition ?? "",
    })),
    extensions,
    unknown: [],
  };
  const tables = new Map<string, TableInfo>();
  for (const r of relations) {
    const kind = TABLE_KINDS[r.relkind];
    if (kind !== undefined) {
      const table: TableInfo = {
        name: r.name,
        kind,
        rowSecurity: r.row_security,
        partitionOf: r.parent,
        partitionBound: r.bound,
        columns: r.columns,
        constraints: [],
        indexes: [],
        triggers: [],
        policies: [],
      };
      tables.set(r.name, table);
      model.tables.push(table);
    } else if (r.relkind === "v" || r.relkind === "m") {
      model.views.push({
        name: r.name,
        materialized: r.relkind === "m",
        definition: r.view_definition ?? "",
      });
    } else {
      model.unknown.push({ kind: `relation kind '${r.relkind}'`, name: r.name });
    }
  }
  for (const k of constraints) {
    tables.get(k.table)?.constraints.push({
      name: k.name,
      kind: CONSTRAINT_KINDS[k.contype] ?? "check",
      definition: k.definition,
      validated: k.validated,
      deferrable: k.deferrable,
      initiallyDeferred: k.deferred,
    });
  }
  for (const { table, ...index } of indexes) tables.get(table)?.indexes.push(index);
  for (const { table, ...policy } of policies) tables.get(table)?.policies.push(policy);
  for (const g of triggers) {
    tables.get(g.table)?.triggers.push({
      name: g.name,
      definition: g.definition,
      enabled: TRIGGER_STATES[g.enabled] ?? "origin",
    });
  }
  return model;
}

/**
 * A stable fingerprint of a model: SHA-256 of its canonical JSON. Two schemas built by the same
 * DDL, in any order, on any server of the same major version, have the same fingerprint; OIDs
 * and other physical details are not in the model. Column order is (see TableInfo.columns).
 */
export function schemaFingerprint(model: SchemaModel): string {
  return hash("sha256", canonicalJson(model), "hex");
}

/** JSON with object keys sorted at every level, so equal models always serialise the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
