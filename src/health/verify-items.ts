/**
 * `verify`'s checklist items as values, and the pure rules that decide the items that rest on
 * the expected schema (tables, presence of indexes and constraints, drift) and on migration
 * history. No database here: the facts come in, verdicts and evidence go out, so the rules are
 * tested on hand-built inputs (test/unit/verify-items.test.ts).
 */
import type { SchemaDifference } from "../catalog/index.js";
import { describeDifference } from "../schema/index.js";

/** A checklist item's verdict. */
export type Verdict = "PASS" | "FAIL" | "SKIP";

/** The items, in the runbook's order. */
export const ITEM_NAMES = [
  "tables",
  "indexes",
  "constraints",
  "foreign keys",
  "sequences",
  "history",
  "drift",
  "smoke tests",
  "statistics",
] as const;

export type ItemName = (typeof ITEM_NAMES)[number];

/** One checklist item: its verdict and the facts behind it, one per line (the first sums it up). */
export interface VerifyItem {
  name: ItemName;
  verdict: Verdict;
  evidence: string[];
}

/** One repair `--fix` attempted. */
export interface VerifyFix {
  /** The checklist item it repairs, e.g. `sequences`. */
  item: ItemName;
  /** What it repaired, e.g. `orders_id_seq`. */
  subject: string;
  /** The statement that ran, e.g. `REINDEX INDEX CONCURRENTLY "app"."users_email_key"`. */
  action: string;
  ok: boolean;
  /** What happened, one line: the result, or the server's error. */
  message: string;
}

/**
 * The expected schema as verify sees it: the differences drift detection found between it and
 * the live schema, or why it could not be built (then the items resting on it are skipped).
 */
export type Expected =
  | { known: true; differences: SchemaDifference[]; source: string; notes: string[] }
  | {
      known: false;
      /** Why, one line; it names `--scratch-url` where another database would help. */
      reason: string;
      /** False when a migration no longer replays: another scratch database would not help. */
      scratchHelps: boolean;
    };

/** At most this many differences are listed under `drift`; the count says how many there are. */
export const DIFFERENCES_SHOWN = 10;

/** One fact per line, never a multi-line value, and never one so long it hides the others. */
export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** Evidence for an item that could not be checked because the expected schema is unknown. */
export function unknownExpected(expected: { reason: string }): string {
  return `expected schema not built: ${expected.reason}`;
}

/**
 * Why the checklist is incomplete when the expected schema could not be built: which items
 * could not be checked, and why. The run then fails (VERIFY_FAILED), since a checklist that
 * skipped half its items has not shown the database to be sound.
 * @example incompleteChecklist({ reason: "cannot create a scratch database ...", scratchHelps: true })
 */
export function incompleteChecklist(expected: { reason: string; scratchHelps: boolean }): string {
  const next = expected.scratchHelps
    ? expected.reason.includes("--scratch-url")
      ? ""
      : "; give an empty database to build it in with --scratch-url URL"
    : '; once the applied migrations replay again ("confiture migrate drift-detect" shows where one fails), run verify again';
  return oneLine(
    "tables and drift were not checked, nor whether the expected indexes, constraints and foreign keys exist: " +
      `the expected schema could not be built: ${expected.reason}${next}`,
    800,
  );
}

/** The same, said briefly where only half an item rests on it (the reason is under `drift`). */
export const PRESENCE_UNKNOWN =
  "presence of the expected ones not checked: the expected schema was not built (see drift)";

/**
 * `tables`: every table the expected schema has exists (extra tables are drift, not a missing table).
 * @example tablesItem(["users"], { known: true, differences: [], source: "migrations" }) // PASS
 */
export function tablesItem(liveTables: string[], expected: Expected): VerifyItem {
  if (!expected.known) return { name: "tables", verdict: "SKIP", evidence: [unknownExpected(expected)] };
  const isTable = (d: SchemaDifference) => d.property === null && d.object === `table ${d.table}`;
  const missing = expected.differences.filter((d) => d.kind === "missing" && isTable(d));
  const extra = expected.differences.filter((d) => d.kind === "extra" && isTable(d)).length;
  const present = liveTables.length - extra;
  if (missing.length === 0) {
    return { name: "tables", verdict: "PASS", evidence: [`${present} expected table(s) present`] };
  }
  return {
    name: "tables",
    verdict: "FAIL",
    evidence: [
      `${missing.length} of ${present + missing.length} expected table(s) missing`,
      ...missing.map((d) => oneLine(`missing: ${d.table}${d.expected ? ` ${d.expected}` : ""}`)),
    ],
  };
}

/** Which presence check a missing object belongs to. */
export type PresenceKind = "index" | "constraint" | "foreign key";

/**
 * Expected objects of one kind the live schema lacks, one evidence line each
 * (`missing: index users_email_idx on users: CREATE UNIQUE INDEX ...`). A table that is missing
 * as a whole is reported under `tables`, not once per index.
 */
export function missingObjects(differences: SchemaDifference[], kind: PresenceKind): string[] {
  return differences
    .filter((d) => d.kind === "missing" && d.property === null)
    .filter((d) => {
      if (kind === "index") return d.object.startsWith("index ");
      if (!d.object.startsWith("constraint ")) return false;
      const fk = (d.expected ?? "").startsWith("FOREIGN KEY");
      return kind === "foreign key" ? fk : !fk;
    })
    .map((d) =>
      oneLine(
        `missing: ${d.object}${d.table && kind === "index" ? ` on ${d.table}` : ""}: ${d.expected ?? ""}`,
      ),
    );
}

/** `drift`: the live schema is exactly what the applied migrations produce. */
export function driftItem(expected: Expected): VerifyItem {
  if (!expected.known) return { name: "drift", verdict: "SKIP", evidence: [unknownExpected(expected)] };
  const { differences, source } = expected;
  const notes = expected.notes.map((n) => oneLine(`note: ${n}`));
  if (differences.length === 0) {
    return { name: "drift", verdict: "PASS", evidence: [oneLine(`no difference from ${source}`), ...notes] };
  }
  const more = differences.length - DIFFERENCES_SHOWN;
  return {
    name: "drift",
    verdict: "FAIL",
    evidence: [
      oneLine(`${differences.length} difference(s) from ${source}`),
      ...differences.slice(0, DIFFERENCES_SHOWN).map((d) => oneLine(describeDifference(d))),
      ...(more > 0 ? [`and ${more} more: "confiture migrate drift-detect" lists them all`] : []),
      ...notes,
    ],
  };
}

/** What `history` needs from `migrate status`: each migration's state, in file order. */
export interface HistoryFacts {
  /** Every migration: files in version order first, then history rows without a file. */
  migrations: Array<{ id: string; state: string; hasFile: boolean }>;
  /** The status report's findings (failed, checksum mismatch, missing file, lost history). */
  findings: Array<{ code: string; message: string }>;
}

/**
 * `history`: no failed row, no checksum mismatch, no applied row without its file, no lost
 * history, no gap (a pending migration older than the newest applied one: it was skipped,
 * or its row was lost, and `migrate up` would now run it out of order), and, when there are
 * migration files, at least one recorded as applied.
 */
export function historyItem(facts: HistoryFacts): VerifyItem {
  const files = facts.migrations.filter((m) => m.hasFile);
  let newestApplied = -1;
  files.forEach((m, i) => {
    if (m.state !== "pending") newestApplied = i;
  });
  const gaps = files.slice(0, Math.max(newestApplied, 0)).filter((m) => m.state === "pending");
  const problems = [
    ...facts.findings.map((f) => oneLine(f.message)),
    ...gaps.map(
      (m) => `${m.id} is pending but older than ${files[newestApplied]!.id}, which is applied (a gap)`,
    ),
  ];
  const applied = files.filter((m) => m.state !== "pending").length;
  const pending = files.length - applied;
  // Files, and not one of them recorded as applied: the database was not restored with its
  // history (or not restored at all); every other item would then compare an empty schema
  // with an empty expectation and pass. Lost history says so in its own words.
  const recorded = facts.migrations.some((m) => m.state !== "pending" && m.state !== "failed");
  if (files.length > 0 && !recorded && !facts.findings.some((f) => f.code === "HISTORY_LOST")) {
    problems.unshift(
      `no migration is recorded as applied (${files.length} file(s)): an empty or wrongly restored database, ` +
        'or lost history (see "confiture migrate status")',
    );
  }
  if (problems.length > 0) {
    return {
      name: "history",
      verdict: "FAIL",
      evidence: [`${problems.length} problem(s) in the migration history`, ...problems],
    };
  }
  return {
    name: "history",
    verdict: "PASS",
    evidence: [
      `${applied} applied, ${pending} pending, no failed row, checksum mismatch, missing file or gap` +
        (pending > 0 ? ` (the pending ones are newer than every applied one)` : ""),
    ],
  };
}

/**
 * The report's one-line failure: the item names that FAILed, in order, and why the checklist is
 * incomplete when it is (`incomplete` from incompleteChecklist).
 */
export function summarizeFailures(items: VerifyItem[], incomplete?: string | null): string {
  const failed = items.filter((i) => i.verdict === "FAIL").map((i) => i.name);
  if (incomplete == null) return `verify failed: ${failed.join(", ")}`;
  if (failed.length === 0) return `verify incomplete: ${incomplete}`;
  return `verify failed: ${failed.join(", ")}; the checklist is also incomplete: ${incomplete}`;
}
