/**
 * `migrate sync-history [--dry-run]` (runbook Scenario 4): rebuild a lost history from the live
 * schema. The migrations are replayed one by one into a scratch database; after each, the
 * scratch schema's fingerprint is compared with the live one. The longest run of migrations
 * whose result equals the live schema exactly is what the live schema contains; those are
 * recorded with their checksums and the status `reconstructed`. When no run matches exactly the
 * closest one and its differences are reported and nothing is recorded: drift is shown, never
 * guessed away. Runs under the migration lock, so no `up` changes the schema meanwhile.
 */
import {
  diffSchemas,
  introspectSchema,
  type SchemaDifference,
  type SchemaModel,
  schemaFingerprint,
} from "../catalog/index.js";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { ownRelations } from "../history/index.js";
import { listMigrations, type MigrationFile, readListed } from "../migrations/files.js";
import { recordWithoutRunning } from "../migrations/history-edits.js";
import { runContext } from "../ops/context.js";
import { executeChange } from "../ops/execute.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";
import { replayMigration } from "./replay.js";
import { withScratchDatabase } from "./scratch.js";

export interface SyncHistoryOptions {
  /** Find and report, record nothing. */
  dryRun?: boolean | undefined;
  /** An existing empty database to replay into, instead of creating one. */
  scratchUrl?: string | undefined;
  onProgress?: ((message: string) => void) | undefined;
}

/**
 * What the live schema says about one migration:
 * - `present`: its changes are in the live schema;
 * - `implied`: it changes nothing the schema shows, and a later migration is present;
 * - `unconfirmed`: it changes nothing the schema shows and nothing after it is present (a data
 *   migration at the end): the schema cannot tell whether it ran, so it is not recorded and the
 *   result is exit 3; a person decides (`baseline --through` if it ran; `up` runs it if not);
 * - `absent`: not in the live schema (pending).
 */
export type SyncVerdict = "present" | "implied" | "unconfirmed" | "absent";

export interface SyncEntry {
  id: string;
  verdict: SyncVerdict;
  checksum: string;
}

export interface SyncHistoryResult {
  database: string;
  schema: string;
  dryRun: boolean;
  /** `exact`: a run of migrations equals the live schema; `closest`: none does (drift); `empty`: the live schema holds none of them. */
  match: "exact" | "closest" | "empty";
  /** The last migration of the matching (or closest) run, or null. */
  through: string | null;
  migrations: SyncEntry[];
  /** Ids written to the tracking table as `reconstructed` (none in a dry run or without an exact match). */
  recorded: string[];
  /** The scratch database the migrations were replayed into (dropped, or emptied when it was `--scratch-url`). */
  scratchDatabase: string;
  /** With `closest`: how the live schema differs from the schema after `through`. */
  differences: SchemaDifference[];
  notes: string[];
  timings: { replayMs: number; introspectMs: number; totalMs: number };
  report: CheckReport;
}

/**
 * Rebuild a lost history.
 * @example const { recorded, match } = await syncHistory(config, { dryRun: true });
 */
export async function syncHistory(
  config: ConfitureConfig,
  opts: SyncHistoryOptions = {},
): Promise<SyncHistoryResult> {
  const started = performance.now();
  const dryRun = opts.dryRun === true;
  const listed = await listMigrations(config.migrationsDir, config);
  const run = runContext(
    config,
    dryRun ? `${COMMANDS.migrateSyncHistory} --dry-run` : COMMANDS.migrateSyncHistory,
  );
  let result: Judged | undefined;
  const timings = { replayMs: 0, introspectMs: 0 };
  const recorded: string[] = [];
  await executeChange<string[]>({
    context: run,
    dryRun,
    ensureHistory: "before-steps",
    async prepare({ session, history }) {
      const rows = await history.read();
      if (rows.length > 0) {
        throw new UsageError(
          `the history (${run.tables.schema}.${run.tables.trackingTable}) holds ${rows.length} row(s); sync-history only rebuilds a ` +
            `lost (missing or empty) history. See "confiture migrate status"; to start over, "confiture init --force" ` +
            "moves the table aside (keeping its rows) and creates an empty one. Nothing was changed",
          "HISTORY_NOT_EMPTY",
        );
      }
      const files = readListed(listed);
      const own = ownRelations(run.tables);
      let t0 = performance.now();
      const live = await introspectSchema(session, run.tables.schema, own);
      timings.introspectMs += performance.now() - t0;
      const liveFingerprint = schemaFingerprint(live);
      const scratch = await withScratchDatabase(
        { live: run.connection, scratchUrl: opts.scratchUrl, schema: run.tables.schema },
        async ({ session: s }) => {
          const read = async () => {
            const t = performance.now();
            const model = await introspectSchema(s, run.tables.schema, own);
            timings.introspectMs += performance.now() - t;
            return model;
          };
          const fingerprints: string[] = [];
          let closest: { index: number; differences: SchemaDifference[] } | undefined;
          const consider = (index: number, model: SchemaModel) => {
            fingerprints.push(schemaFingerprint(model));
            if (fingerprints[index] === liveFingerprint) return;
            const differences = diffSchemas(model, live);
            if (closest === undefined || differences.length <= closest.differences.length)
              closest = { index, differences };
          };
          consider(0, await read());
          for (const [i, f] of files.entries()) {
            opts.onProgress?.(`replaying ${f.id} (${i + 1} of ${files.length})`);
            t0 = performance.now();
            await replayMigration(s, f);
            timings.replayMs += performance.now() - t0;
            consider(i + 1, await read());
          }
          return { fingerprints, closest };
        },
      );
      const { fingerprints, closest } = scratch.value;
      result = {
        ...judge(
          files,
          fingerprints,
          liveFingerprint,
          closest,
          session.database,
          run.tables.schema,
          scratch.notes,
        ),
        scratchDatabase: scratch.database,
      };
      // Only what the schema proves: an unconfirmed (data-only) tail is left for a person.
      const toRecord = files.filter((_, i) => {
        const v = result!.migrations[i]!.verdict;
        return v === "present" || v === "implied";
      });
      if (result.match !== "exact" || toRecord.length === 0) return [];
      return [
        {
          id: `sync-history through ${result.through}`,
          mode: "transactional",
          run: ({ history: h, inTransaction }) =>
            // All or nothing, like baseline: half a reconstructed history would mislead.
            inTransaction(() => recordWithoutRunning(h, toRecord, "reconstructed")),
        },
      ];
    },
    audit: {
      success: (done) =>
        done.length === 0 ? undefined : { through: result?.through, recorded: done.flatMap((d) => d.result) },
      failure: () => ({}),
    },
  }).then((done) => {
    if (!dryRun) recorded.push(...done.flatMap((d) => d.result));
  });
  const r = result!;
  const findings: Finding[] = [];
  if (r.match === "closest") {
    findings.push({
      code: "HISTORY_UNRESOLVED",
      severity: "critical",
      subject: run.tables.schema,
      message:
        `no run of migrations matches schema ${r.schema} exactly; the closest is ${r.through === null ? "none of them" : `through ${r.through}`}` +
        ` with ${r.differences.length} difference(s). Nothing was recorded: resolve the drift, or record what you know with ` +
        `"confiture migrate baseline --through ID"`,
    });
  }
  const unconfirmed = r.migrations.filter((m) => m.verdict === "unconfirmed").map((m) => m.id);
  if (unconfirmed.length > 0 && r.match === "exact") {
    const last = unconfirmed.at(-1)!;
    findings.push({
      code: "HISTORY_UNRESOLVED",
      severity: "critical",
      subject: unconfirmed.join(", "),
      message:
        `${unconfirmed.join(", ")} change(s) nothing the schema shows, so whether it ran (e.g. a data change) cannot be told from the schema: ` +
        `${dryRun ? "it would be" : "it was"} left pending. If it ran, record it with "confiture migrate baseline --through ${last}"; ` +
        `if not, "confiture migrate up" runs it`,
    });
  }
  return {
    ...r,
    dryRun,
    recorded,
    timings: {
      replayMs: Math.round(timings.replayMs),
      introspectMs: Math.round(timings.introspectMs),
      totalMs: Math.round(performance.now() - started),
    },
    report: report(findings, (critical) => critical[0]!.message),
  };
}

type Judged = Omit<SyncHistoryResult, "recorded" | "timings" | "report" | "dryRun">;

/** Decide from the fingerprints after each prefix of migrations (index 0: none applied). */
function judge(
  files: MigrationFile[],
  fingerprints: string[],
  liveFingerprint: string,
  closest: { index: number; differences: SchemaDifference[] } | undefined,
  database: string,
  schema: string,
  notes: string[],
): Omit<Judged, "scratchDatabase"> {
  const exact = fingerprints.lastIndexOf(liveFingerprint);
  // Without an exact match the verdicts describe the closest run (and nothing is recorded).
  const through = exact >= 0 ? exact : (closest?.index ?? 0);
  const changed = (i: number) => fingerprints[i + 1] !== fingerprints[i];
  const migrations: SyncEntry[] = files.map((f, i) => {
    let verdict: SyncVerdict = "absent";
    if (i < through) {
      if (changed(i)) verdict = "present";
      else verdict = files.some((_, j) => j > i && j < through && changed(j)) ? "implied" : "unconfirmed";
    }
    return { id: f.id, verdict, checksum: f.checksum };
  });
  const first = fingerprints.indexOf(liveFingerprint);
  if (first >= 0 && fingerprints.slice(first, exact + 1).some((fp) => fp !== liveFingerprint))
    notes.push(
      "the live schema also equals an earlier point of the migrations (a later migration undoes an earlier one); the longest match was taken",
    );
  return {
    database,
    schema,
    match: exact > 0 ? "exact" : exact === 0 ? "empty" : "closest",
    through: lastConfirmed(migrations, exact >= 0) ?? (through > 0 ? files[through - 1]!.id : null),
    migrations,
    differences: exact >= 0 ? [] : (closest?.differences ?? []),
    notes:
      exact === 0 && files.length > 0
        ? [
            ...notes,
            'the live schema holds none of the migrations\' objects: nothing to record (run "confiture migrate up")',
          ]
        : notes,
  };
}

/** With an exact match: the last migration the schema proves (present or implied), or undefined. */
function lastConfirmed(migrations: SyncEntry[], exact: boolean): string | undefined {
  if (!exact) return undefined;
  return migrations.filter((m) => m.verdict === "present" || m.verdict === "implied").at(-1)?.id;
}
