/**
 * `inspectSchema(config)`: the managed schema read into one model, with its fingerprint: the
 * library entry to introspection (catalog/), and what drift-detect and sync-history build on.
 */
import { introspectSchema, type SchemaModel, schemaFingerprint } from "../catalog/index.js";
import type { ConfitureConfig } from "../config/index.js";
import { ownRelations } from "../history/index.js";
import { inspect, runContext } from "../ops/context.js";

/** What the managed schema holds, and its fingerprint (SHA-256 of the normalised model). */
export interface SchemaInspection {
  database: string;
  schema: string;
  fingerprint: string;
  model: SchemaModel;
}

/**
 * Read the managed schema (Confiture's own tables left out). Reads only; takes no lock.
 *
 * @example const { fingerprint, model } = await inspectSchema(await loadConfig({}));
 */
export async function inspectSchema(config: ConfitureConfig): Promise<SchemaInspection> {
  const run = runContext(config, "inspect schema");
  return inspect(run, async ({ session }) => {
    const model = await introspectSchema(session, run.tables.schema, ownRelations(run.tables));
    return {
      database: session.database,
      schema: run.tables.schema,
      fingerprint: schemaFingerprint(model),
      model,
    };
  });
}
