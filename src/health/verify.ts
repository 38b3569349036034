/**
 * `confiture verify`: the runbook's post-recovery checklist as one command. Each item gets a
 * verdict (PASS / FAIL / SKIP) and its evidence, one fact a line:
 *
 *   tables, indexes, constraints, foreign keys, sequences, history, drift, smoke tests, statistics
 *
 * The live catalogs are read once (verify-live.ts); the expected schema comes from drift
 * detection (verify-expected.ts); history from `migrate status`; smoke tests are the configured
 * commands (verify-smoke.ts). With `--fix`, the safe repairs run through the one execution path
 * for changes (verify-fix.ts) and the live catalogs are read again, so the verdicts describe the
 * database as the repairs left it. Without `--fix` nothing is changed and no lock is taken.
 *
 * A checklist that could not build the expected schema is incomplete, and fails as such: the
 * items resting on it are SKIP, and a run that checked only half of what it lists must not end
 * looking like a pass. A `--scratch-url` that cannot be used is the command's error.
 */
import { COMMANDS } from "../commands.js";
import { type ConfitureConfig, requireDatabaseUrl } from "../config/index.js";
import { describeTarget } from "../db/connection-spec.js";
import { ConfitureError } from "../errors.js";
import { ownRelations } from "../history/index.js";
import { migrationStatus } from "../migrations/status.js";
import { refuseWithoutConsent } from "../ops/consent.js";
import { inspect, type RunContext, runContext } from "../ops/context.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";
import { checkScratchUrl, expectedSchema, probeScratchUrl } from "./verify-expected.js";
import { applyRepairs } from "./verify-fix.js";
import {
  driftItem,
  type Expected,
  historyItem,
  incompleteChecklist,
  summarizeFailures,
  tablesItem,
  type VerifyFix,
  type VerifyItem,
} from "./verify-items.js";
import { readLiveFacts } from "./verify-live.js";
import {
  constraintsItem,
  foreignKeysItem,
  indexesItem,
  type LiveFacts,
  repairsFor,
  sequencesItem,
  statisticsItem,
} from "./verify-live-items.js";
import { runSmoke, smokeItem } from "./verify-smoke.js";

export type { Verdict, VerifyFix, VerifyItem } from "./verify-items.js";

export interface VerifyOptions {
  /** Also count orphan rows per foreign key (one anti-join each: reads whole tables). */
  deep?: boolean | undefined;
  /** Apply the safe repairs (setval, ANALYZE, REINDEX of invalid indexes) and report each. */
  fix?: boolean | undefined;
  /** Skip the confirmation `--fix` needs on a protected environment. */
  force?: boolean | undefined;
  /** At a terminal: ask a person before `--fix` changes a protected environment. */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
  /** An empty database to build the expected schema in, instead of creating a scratch database. */
  scratchUrl?: string | undefined;
  /** Longest run of one smoke command (default 10 minutes); it is stopped after that. */
  smokeTimeoutMs?: number | undefined;
  /** Progress for a person. */
  onProgress?: ((message: string) => void) | undefined;
}

export interface VerifyResult {
  database: string;
  schema: string;
  /** The nine checklist items, in the runbook's order. */
  items: VerifyItem[];
  /** The repairs `--fix` attempted (empty without `--fix`, or when there was nothing to repair). */
  fixes: VerifyFix[];
  /**
   * Set when the expected schema could not be built: which items could not be checked, and why
   * (the run then fails). Null when every item could be checked.
   */
  incomplete: string | null;
  /** One critical VERIFY_FAILED finding per failed item, and one when the checklist is incomplete. */
  report: CheckReport;
}

/**
 * Run the post-recovery checklist against the configured database.
 *
 * @example
 * const { items, report } = await verify(config, { deep: true });
 * const failed = items.filter((i) => i.verdict === "FAIL").map((i) => i.name);
 */
export async function verify(config: ConfitureConfig, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const run = runContext(config, opts.fix ? `${COMMANDS.verify} --fix` : COMMANDS.verify);
  const progress = opts.onProgress;
  // Refused before any work when no one can consent; at a terminal the question comes with the repairs.
  if (opts.fix) {
    refuseWithoutConsent(run, "verify --fix", describeTarget(run.connection), {
      force: opts.force,
      confirm: opts.confirm,
    });
  }
  checkScratchUrl(opts.scratchUrl);
  progress?.("reading the catalogs");
  let live = await readLive(run, opts.deep === true, progress);
  let fixes: VerifyFix[] = [];
  const repairs = opts.fix ? repairsFor(live) : [];
  if (repairs.length > 0) {
    // An unreachable --scratch-url stops the run before anything is repaired.
    if (opts.scratchUrl !== undefined) await probeScratchUrl(opts.scratchUrl, run.connection);
    fixes = await applyRepairs(run, repairs, {
      force: opts.force,
      confirm: opts.confirm,
      onProgress: progress,
    });
    progress?.("reading the catalogs again after the repairs");
    // Repairs change no row: the orphan counts stand.
    live = { ...(await readLive(run, false, progress)), orphans: live.orphans };
  }
  progress?.("reading the migration history");
  const status = await migrationStatus(config);
  progress?.("building the expected schema from the applied migrations");
  const expected: Expected = await expectedSchema(config, {
    scratchUrl: opts.scratchUrl,
    onProgress: progress,
  }).catch((err: unknown) => {
    // The repairs made stand: an error that ends the run now must not hide them.
    if (fixes.length === 0 || !(err instanceof ConfitureError)) throw err;
    const made = fixes.map((f) => `${f.subject} (${f.ok ? "fixed" : "failed"})`).join(", ");
    throw err.withNote(
      ` The repairs verify --fix made before this stand (recorded in the events table): ${made}.`,
      { fixes },
    );
  });
  const smoke =
    config.verify.smoke.length === 0
      ? undefined
      : await runSmoke(config.verify.smoke, {
          cwd: config.projectDir,
          url: requireDatabaseUrl(config),
          timeoutMs: opts.smokeTimeoutMs,
          onProgress: progress,
        });
  const schema = run.tables.schema;
  const items: VerifyItem[] = [
    tablesItem(live.tables, expected),
    indexesItem(live, expected),
    constraintsItem(live, expected),
    foreignKeysItem(live, expected, schema),
    sequencesItem(live),
    historyItem({
      migrations: status.migrations.map((m) => ({ id: m.id, state: m.state, hasFile: m.checksum !== null })),
      findings: status.report.findings,
    }),
    driftItem(expected),
    smokeItem(smoke, requireDatabaseUrl(config)),
    statisticsItem(live),
  ];
  const incomplete = expected.known ? null : incompleteChecklist(expected);
  return {
    database: live.database,
    schema,
    items,
    fixes,
    incomplete,
    report: verifyReport(items, incomplete),
  };
}

function readLive(
  run: RunContext,
  deep: boolean,
  onProgress: ((message: string) => void) | undefined,
): Promise<LiveFacts> {
  return inspect(run, ({ session }) =>
    readLiveFacts(session, run.tables.schema, ownRelations(run.tables), { deep, onProgress }),
  );
}

function verifyReport(items: VerifyItem[], incomplete: string | null): CheckReport {
  const findings: Finding[] = items
    .filter((i) => i.verdict === "FAIL")
    .map((i) => ({
      code: "VERIFY_FAILED",
      severity: "critical",
      subject: i.name,
      message: `${i.name}: ${i.evidence[0] ?? "failed"}`,
    }));
  if (incomplete !== null) {
    findings.push({
      code: "VERIFY_FAILED",
      severity: "critical",
      subject: "expected schema",
      message: `checklist incomplete: ${incomplete}`,
    });
  }
  return report(findings, () => summarizeFailures(items, incomplete), "VERIFY_FAILED");
}
