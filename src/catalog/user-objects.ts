/**
 * What a schema already holds that someone created: tables, views, materialized views, foreign
 * tables, standalone sequences, functions and procedures, enums, domains, range and composite
 * types. Not counted: objects that belong to an extension (PostGIS's `spatial_ref_sys`, say),
 * sequences owned by a column (they come with their table), indexes, and the relations the
 * caller names as its own (Confiture's history tables and their `_backup` copies).
 */
import type { Session } from "../db/session.js";

/** One object, e.g. `{ kind: "table", name: "users" }`. */
export interface SchemaObject {
  kind: string;
  name: string;
}

/** How many user objects a schema holds, and the first few by kind and name. */
export interface UserObjects {
  count: number;
  sample: SchemaObject[];
}

/** The relations a tool keeps in the schema for itself, which are not user objects. */
export interface OwnRelations {
  /** Exact names, e.g. the tracking table and the events table. */
  names: string[];
  /**
   * A table whose `<name>_backup[_<14 digits>[_<n>]]` copies are the tool's too (when such a name
   * would pass 63 bytes, `<name>` is cut: then a prefix of it counts).
   */
  backupsOf?: string;
}

const BACKUP_SUFFIX = "'_backup(_[0-9]{14}(_[0-9]+)?)?$'";

/**
 * SQL that is true when the relation name `column` is one of the caller's own: one of the names
 * in `$2` (text[]), or a backup of the table named in `$3` (text, may be null): exactly
 * `<$3>_backup...`, or, for a name cut to fit 63 bytes, a prefix of `$3` followed by the suffix.
 */
export function ownRelation(column: string): string {
  const base = `regexp_replace(${column}, ${BACKUP_SUFFIX}, '')`;
  return `(${column} = any($2::text[])
     or ($3::text is not null and ${column} ~ ${BACKUP_SUFFIX}
         and (${base} = $3::text
              -- a name cut to fit 63 bytes keeps a prefix of the table's name
              or (octet_length(${column}) >= 60 and starts_with($3::text, ${base})))))`;
}

// One round trip whatever the schema's size: the count comes with the first rows.
const USER_OBJECTS_SQL = `
with ns as (select oid from pg_namespace where nspname = $1),
     ext as (select classid, objid from pg_depend where deptype = 'e'),
     objects as (
  select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view'
              when 'm' then 'materialized view' when 'f' then 'foreign table'
              when 'S' then 'sequence' else 'type' end as kind,
         c.relname::text as name
    from pg_class c
   where c.relnamespace = (select oid from ns)
     and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'c')
     and not (c.relkind = 'S' and exists (
           select from pg_depend d
            where d.classid = 'pg_class'::regclass and d.objid = c.oid
              and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')))
     and not exists (select from ext where ext.classid = 'pg_class'::regclass and ext.objid = c.oid)
     and not ${ownRelation("c.relname")}
  union all
  select case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
         p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
    from pg_proc p
   where p.pronamespace = (select oid from ns)
     and not exists (select from ext where ext.classid = 'pg_proc'::regclass and ext.objid = p.oid)
     and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'i')
  union all
  select case t.typtype when 'e' then 'enum' when 'd' then 'domain' else 'range type' end, t.typname::text
    from pg_type t
   where t.typnamespace = (select oid from ns) and t.typtype in ('e', 'd', 'r')
     and not exists (select from ext where ext.classid = 'pg_type'::regclass and ext.objid = t.oid)
)
select kind, name, count(*) over () as total from objects order by kind = 'table' desc, kind, name limit $4`;

/**
 * The user objects in `schema` (see the module comment for what counts).
 *
 * @example const { count, sample } = await findUserObjects(session, "public", { names: ["confiture_migrations"] });
 */
export async function findUserObjects(
  session: Session,
  schema: string,
  own: OwnRelations,
  sampleSize = 5,
): Promise<UserObjects> {
  const rows = await session.query<{ kind: string; name: string; total: string }>(USER_OBJECTS_SQL, [
    schema,
    own.names,
    own.backupsOf ?? null,
    sampleSize,
  ]);
  return {
    count: rows.length === 0 ? 0 : Number(rows[0]!.total),
    sample: rows.map((r) => ({ kind: r.kind, name: r.name })),
  };
}

/** `3 tables (users, orders, items) and 2 other objects`: what a schema holds, in a few words. */
export function describeUserObjects(found: UserObjects): string {
  const shown = found.sample.map((o) => `${o.kind} ${o.name}`).join(", ");
  const more = found.count - found.sample.length;
  return `${found.count} object(s): ${shown}${more > 0 ? `, and ${more} more` : ""}`;
}
