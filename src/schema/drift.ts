/**
 * `migrate drift-detect`: the live schema against the expected one. The expected schema is built
 * in a scratch database (./scratch.ts) from the migrations history says are applied (default) or
 * from `db/schema/` (`--against schema`), then both are read by the same introspection and
 * compared (catalog's diffSchemas). Reads only on the configured database; takes no lock.
 */
import { diffSchemas, introspectSchema, type SchemaDifference } from "../catalog/index.js";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { describeHolder, lockHolder } from "../db/advisory-lock.js";
import { type AppliedRow, ownRelations } from "../history/index.js";
import { listMigrations, type MigrationFile, readListed } from "../migrations/files.js";
import { inspect, type RunContext, runContext } from "../ops/context.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";
import { replayMigration, replaySchemaFile, schemaFiles } from "./replay.js";
import { withScratchDatabase } from "./scratch.js";

export interface DriftOptions {
  /** Where the expected schema comes from: the applied migrations (default) or `db/schema/`. */
  against?: "migrations" | "schema" | undefined;
  /** An existing empty database to build the expected schema in, instead of creating one. */
  scratchUrl?: string | undefined;
  /** Progress for a person (which migration is being replayed). */
  onProgress?: ((message: string) => void) | undefined;
}

export interface DriftResult {
  database: string;
  schema: string;
  against: "migrations" | "schema";
  /** In words: what the expected schema was built from, e.g. `12 applied migrations (001_a .. 012_b)`. */
  expectedSource: string;
  /** Every difference, grouped by table (see catalog's SchemaDifference). */
  differences: SchemaDifference[];
  drift: boolean;
  /** How many differences of each kind. */
  counts: { missing: number; extra: number; changed: number };
  /** The scratch database the expected schema was built in (dropped, or emptied when it was `--scratch-url`). */
  scratchDatabase: string;
  /** Facts the user should know about the comparison (changed files replayed as they are now, ...). */
  notes: string[];
  /** Milliseconds: building the expected schema, reading both schemas (at once, after the build), comparing them. */
  timings: { replayMs: number; introspectMs: number; diffMs: number; totalMs: number };
  /** What the comparison does not look at, so "no drift" is not read as more than it is. */
  notCompared: string[];
  /** One critical finding per difference (code DRIFT_DETECTED). */
  report: CheckReport;
}

/**
 * Compare the live schema with the expected one.
 *
 * @example const { drift, differences } = await detectDrift(await loadConfig({}));
 */
export async function detectDrift(config: ConfitureConfig, opts: DriftOptions = {}): Promise<DriftResult> {
  const started = performance.now();
  const against = opts.against ?? "migrations";
  const run = runContext(config, COMMANDS.migrateDriftDetect);
  const listed = against === "migrations" ? await listMigrations(config.migrationsDir, config) : [];
  const schemaPaths = against === "schema" ? await schemaFiles(config.schemaDir) : [];
  return inspect(run, async ({ session, history }) => {
    const notes: string[] = [];
    const holder = await lockHolder(session, run.lockKey);
    if (holder !== undefined)
      notes.push(
        `a migration may be running, so the live schema may be read half-way through it: the migration lock is held (${describeHolder(holder)})`,
      );
    let replayMs = 0;
    let introspectMs = 0;
    let plan: ReplayPlan;
    if (against === "migrations") {
      plan = replayPlan(readListed(listed), await history.read(), notes);
    } else {
      plan = {
        source: `${schemaPaths.length} file(s) in ${relativeDir(config.schemaDir, config.projectDir)}`,
        files: [],
      };
    }
    const expected = await withScratchDatabase(
      { live: run.connection, scratchUrl: opts.scratchUrl, schema: run.tables.schema },
      async ({ session: scratch }) => {
        const t0 = performance.now();
        if (against === "migrations") {
          for (const [i, f] of plan.files.entries()) {
            opts.onProgress?.(`replaying ${f.id} (${i + 1} of ${plan.files.length})`);
            await replayMigration(scratch, f);
          }
        } else {
          for (const p of schemaPaths) await replaySchemaFile(scratch, p, config.projectDir);
        }
        replayMs = performance.now() - t0;
        // Both schemas read at once, each on its own session, once the replay is done: the live
        // one as close as possible to the comparison, and neither competing with the replay.
        const t1 = performance.now();
        const own = ownRelations(run.tables);
        const models = await Promise.all([
          introspectSchema(scratch, run.tables.schema, own),
          introspectSchema(session, run.tables.schema, own),
        ]);
        introspectMs = performance.now() - t1;
        return models;
      },
    );
    notes.push(...expected.notes);
    const [expectedModel, actual] = expected.value;
    const t1 = performance.now();
    const differences = diffSchemas(expectedModel, actual);
    const diffMs = performance.now() - t1;
    return driftResult(run, session.database, against, plan.source, expected.database, differences, notes, {
      replayMs,
      introspectMs,
      diffMs,
      totalMs: performance.now() - started,
    });
  });
}

interface ReplayPlan {
  source: string;
  files: MigrationFile[];
}

/** The migrations history says are in the schema, in file order; what cannot be replayed is said. */
function replayPlan(files: MigrationFile[], rows: AppliedRow[], notes: string[]): ReplayPlan {
  const byId = new Map(rows.map((r) => [r.version, r]));
  const replayed: MigrationFile[] = [];
  for (const f of files) {
    const row = byId.get(f.id);
    if (!row) continue;
    if (row.status === "failed") {
      notes.push(`${f.id} is recorded as failed: not replayed (settle it with "confiture migrate resolve")`);
      continue;
    }
    if (row.checksum !== null && row.checksum !== f.checksum)
      notes.push(`${f.id} changed since it was applied: replayed as the file is now`);
    replayed.push(f);
  }
  const fileIds = new Set(files.map((f) => f.id));
  const missing = rows.filter((r) => r.status !== "failed" && !fileIds.has(r.version)).map((r) => r.version);
  if (missing.length > 0)
    notes.push(`applied but without a file, so not part of the expected schema: ${missing.join(", ")}`);
  if (rows.length === 0) notes.push("the history is empty: the expected schema is an empty schema");
  const range =
    replayed.length === 0
      ? ""
      : ` (${replayed[0]!.id}${replayed.length > 1 ? ` .. ${replayed.at(-1)!.id}` : ""})`;
  return { source: `${replayed.length} applied migration(s)${range}`, files: replayed };
}

function driftResult(
  run: RunContext,
  database: string,
  against: "migrations" | "schema",
  expectedSource: string,
  scratchDatabase: string,
  differences: SchemaDifference[],
  notes: string[],
  timings: DriftResult["timings"],
): DriftResult {
  const counts = { missing: 0, extra: 0, changed: 0 };
  for (const d of differences) counts[d.kind]++;
  const findings: Finding[] = differences.map((d) => ({
    code: "DRIFT_DETECTED",
    severity: "critical",
    subject: d.object,
    message: describeDifference(d),
  }));
  const round = (ms: number) => Math.round(ms);
  return {
    database,
    schema: run.tables.schema,
    against,
    expectedSource,
    scratchDatabase,
    notCompared: NOT_COMPARED,
    differences,
    drift: differences.length > 0,
    counts,
    notes,
    timings: {
      replayMs: round(timings.replayMs),
      introspectMs: round(timings.introspectMs),
      diffMs: round(timings.diffMs),
      totalMs: round(timings.totalMs),
    },
    report: report(
      findings,
      () =>
        `schema ${run.tables.schema} has drifted from ${against === "migrations" ? "its migrations" : "db/schema"}: ` +
        `${differences.length} difference(s) (${counts.missing} missing, ${counts.extra} extra, ${counts.changed} changed)`,
    ),
  };
}

/** Schema properties introspection does not read (yet). */
export const NOT_COMPARED = [
  "grants",
  "ownership",
  "comments",
  "rules other than views",
  "extended statistics",
];

/** One difference as a sentence: `column users.nickname: extra (text)`. */
export function describeDifference(d: SchemaDifference): string {
  if (d.kind === "missing") return `${d.object}: missing (expected ${d.expected ?? "it"})`;
  if (d.kind === "extra") return `${d.object}: extra (${d.actual ?? "not expected"})`;
  return `${d.object}: ${d.property ?? "definition"} changed: expected ${d.expected ?? "none"}, actual ${d.actual ?? "none"}`;
}

function relativeDir(dir: string, projectDir: string): string {
  return dir.startsWith(`${projectDir}/`) ? dir.slice(projectDir.length + 1) : dir;
}
