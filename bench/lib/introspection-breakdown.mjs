/**
 * Where drift-detect's introspection time goes, for the schema benchmark (bench/schema.mjs).
 *
 * src/catalog/ (introspection and diff) is bundled with esbuild into the bench's work dir, read
 * only, so the queries timed here are exactly the ones the source sends. `introspectSchema` then
 * reads one database through a stand-in session (plain node-postgres, one connection) that times
 * each query from send to parsed rows. Then each query is run again with every value left as the
 * text the server sent (no JSON or type parsing, rows as arrays): that is the server's work plus
 * the transfer, and the difference is what parsing the result costs in Node. (Not EXPLAIN
 * ANALYZE: its per-node instrumentation inflates queries with many sub-plan calls.) Finally
 * `diffSchemas` of two reads is timed in-process. Nothing here runs while a replay runs: this is
 * one side, uncontended.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { summarize } from "./measure.mjs";
import { repoDir } from "./tools.mjs";

/** Which query an SQL text is: by a marker only it has; `query <n>` otherwise. */
const KNOWN = [
  [/json_agg/, "relations and their columns (json_agg per relation)"],
  [/from pg_constraint k join pg_class r/, "constraints (pg_get_constraintdef)"],
  [/from pg_index x/, "indexes (pg_get_indexdef)"],
  [/from pg_trigger g/, "triggers"],
  [/from pg_policy p/, "row-level security policies"],
  [/from pg_sequence s/, "sequences"],
  [/from pg_proc p/, "functions"],
  [/from pg_type t/, "types"],
  [/from pg_extension x/, "extensions"],
];
const labelOf = (sql, i) => KNOWN.find(([re]) => re.test(sql))?.[1] ?? `query ${i + 1}`;

/** Bundle src/catalog/index.ts (introspectSchema, diffSchemas) into `workDir` and import it. */
async function loadCatalog(workDir) {
  const { build } = await import("esbuild");
  const outfile = join(workDir, "catalog-bundle.mjs");
  await build({
    entryPoints: [join(repoDir, "src/catalog/index.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  return import(pathToFileURL(outfile).href);
}

/**
 * Time each introspection query of `schema` in the database at `url` over `runs` reads (after one
 * warm-up), each again without parsing (`runs` each), the whole read, and the diff.
 * `own` is what confiture leaves out (its history tables).
 */
export async function introspectionBreakdown({ url, schema = "public", own, runs, workDir }) {
  const catalog = await loadCatalog(workDir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select set_config('search_path', $1, false)", [`${schema}, public`]);
    const queries = []; // [{ label, sql, params, client: [], server: [], rows, bytes }]
    let index = 0;
    const session = {
      async query(sql, params) {
        const i = index++;
        queries[i] ??= { label: labelOf(sql, i), sql, params, client: [], raw: [], rows: 0, bytes: 0 };
        const t0 = process.hrtime.bigint();
        const r = await client.query(sql, params);
        queries[i].client.push(Number(process.hrtime.bigint() - t0) / 1e6);
        queries[i].rows = r.rows.length;
        return r.rows;
      },
    };
    const whole = [];
    const diff = [];
    let previous;
    for (let run = -1; run < runs; run++) {
      index = 0;
      const t0 = process.hrtime.bigint();
      const model = await catalog.introspectSchema(session, schema, own);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (run < 0) {
        for (const q of queries) q.client.length = 0; // the warm-up is not a sample
      } else {
        whole.push(ms);
        const t1 = process.hrtime.bigint();
        const differences = catalog.diffSchemas(previous, model);
        diff.push(Number(process.hrtime.bigint() - t1) / 1e6);
        if (differences.length !== 0)
          throw new Error(`two reads of one schema differ: ${differences.length}`);
      }
      previous = model;
    }
    // Every value as the text the server sent, rows as arrays: no JSON.parse, no type parsers.
    const asText = { getTypeParser: () => (value) => value };
    for (const q of queries) {
      for (let run = -1; run < runs; run++) {
        const t0 = process.hrtime.bigint();
        const r = await client.query({ text: q.sql, values: q.params, rowMode: "array", types: asText });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (run >= 0) q.raw.push(ms);
        else q.bytes = r.rows.reduce((n, row) => n + row.reduce((m, v) => m + (v?.length ?? 0), 0), 0);
      }
    }
    return {
      runs,
      queries: queries.map((q) => ({
        label: q.label,
        rows: q.rows,
        bytes: q.bytes,
        client: q.client,
        raw: q.raw,
        clientMedian: summarize(q.client).median,
        rawMedian: summarize(q.raw).median,
      })),
      whole,
      diff,
    };
  } finally {
    await client.end();
  }
}
