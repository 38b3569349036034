/**
 * What a rollback will destroy, said before it runs: for each down file, the tables its
 * `DROP TABLE` statements remove and how many rows they hold now. Shown in the protected-
 * environment confirmation, and as a warning anywhere else when rows would be lost.
 */
import { qualify, quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { droppedTables } from "../sql/analysis.js";
import type { PreparedScript } from "./preflight.js";

/** One down file's effect. */
export interface RollbackImpact {
  id: string;
  /** Tables it drops that exist now, with their exact row counts. */
  drops: Array<{ table: string; rows: number }>;
}

/**
 * Count the rows of every table the scripts drop (tables that do not exist are left out).
 * Names are resolved like the rollback will resolve them: through the session's search_path.
 */
export async function rollbackImpact(session: Session, scripts: PreparedScript[]): Promise<RollbackImpact[]> {
  const out: RollbackImpact[] = [];
  for (const script of scripts) {
    const drops: RollbackImpact["drops"] = [];
    for (const t of droppedTables(script.statements)) {
      const name = t.schema === undefined ? quoteIdent(t.name) : qualify(t.schema, t.name);
      const found = await session.query<{ schema: string; name: string }>(
        `select n.nspname as schema, c.relname as name
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.oid = to_regclass($1)`,
        [name],
      );
      const table = found[0];
      if (!table) continue;
      const counted = await session.query<{ n: string }>(
        `select count(*)::text as n from ${qualify(table.schema, table.name)}`,
      );
      drops.push({ table: `${table.schema}.${table.name}`, rows: Number(counted[0]?.n ?? 0) });
    }
    out.push({ id: script.id, drops });
  }
  return out;
}

/** One line a migration: `003_orders: drops orders (1,204 rows)`, or just the id. */
export function describeImpact(impact: RollbackImpact[]): string[] {
  return impact.map((i) => {
    if (i.drops.length === 0) return i.id;
    const drops = i.drops.map((d) => `${d.table} (${d.rows.toLocaleString("en-US")} rows)`).join(", ");
    return `${i.id}: drops ${drops}`;
  });
}

/** The tables among `impact` that hold rows, as one sentence; undefined when none does. */
export function rowsAtRisk(impact: RollbackImpact[]): string | undefined {
  const lossy = impact.flatMap((i) => i.drops.filter((d) => d.rows > 0).map((d) => ({ id: i.id, ...d })));
  if (lossy.length === 0) return undefined;
  return lossy.map((d) => `${d.id} drops ${d.table} (${d.rows.toLocaleString("en-US")} rows)`).join("; ");
}
