/**
 * The report's evidence appendix as Markdown: one `###` section per piece, each either the
 * facts collected or one line saying why they are not there. Every value from the database
 * goes through `cell` / `oneLine` (one line, redacted, pipes escaped).
 */

import type { AuditEvent } from "../audit/events.js";
import { holderFields } from "../db/advisory-lock.js";
import type { HealthResult } from "../health/index.js";
import type { MigrationStatusEntry, StatusResult } from "../migrations/status.js";
import { clipRedacted } from "../redact/index.js";
import type { DriftResult } from "../schema/index.js";
import type { IncidentEvidence, LockFacts, Piece } from "./evidence.js";
import { markdownTable, oneLine } from "./text.js";

/** A status table longer than this shows the migrations that need a look and the newest applied ones. */
const STATUS_ROWS_SHOWN = 30;
/** How many applied migrations a shortened status table keeps (the newest). */
const NEWEST_APPLIED_SHOWN = 10;
/** How many schema differences the drift section lists. */
const DIFFERENCES_SHOWN = 10;
/** How much of an event's details a row shows. */
const DETAILS_SHOWN = 160;

/** The `## Evidence` appendix. */
export function renderAppendix(evidence: IncidentEvidence): string {
  const at = isoSeconds(evidence.collectedAt);
  return [
    `## Evidence (collected by confiture at ${at})`,
    "",
    "Gathered automatically when the incident was opened; a section that could not be gathered says why.",
    "",
    section(
      "Database",
      evidence.database,
      (s) => `PostgreSQL ${oneLine(s.version)}, database ${oneLine(s.database)}.`,
    ),
    section("Migration status", evidence.migrations, migrationsText),
    section("Lock holder", evidence.lock, lockText),
    section("Health", evidence.health, healthText),
    section("Drift", evidence.drift, driftText),
    section("Recent events", evidence.events, (r) =>
      !r.tableExists
        ? `No events: ${oneLine(r.table)} does not exist, so no command has changed this database.`
        : r.events.length === 0
          ? `No events in ${oneLine(r.table)}.`
          : eventsText(r.table, r.events, r.more),
    ),
  ].join("\n");
}

function section<T>(title: string, piece: Piece<T>, body: (value: T) => string): string {
  const text = piece.status === "collected" ? body(piece.value) : `${piece.status}: ${oneLine(piece.reason)}`;
  return `### ${title}\n\n${text}\n`;
}

function migrationsText(r: StatusResult): string {
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
  const lines = [
    `Tracking table ${oneLine(`${r.schema}.${r.trackingTable}`)} in database ${oneLine(r.database)}${
      r.trackingTableExists ? "" : " (does not exist)"
    }: ${counts || "no migrations"}.`,
    "",
  ];
  const shown = shownMigrations(r.migrations);
  if (shown.length > 0) {
    lines.push(
      markdownTable(
        ["Migration", "State", "Applied at (UTC)", "Applied by", "Error"],
        shown.map((m) => [m.id, m.state, m.appliedAt, m.appliedBy, m.error]),
      ),
    );
    const hidden = r.migrations.length - shown.length;
    if (hidden > 0)
      lines.push(
        "",
        `${hidden} older applied migration(s) not shown (\`confiture migrate status\` lists all).`,
      );
    lines.push("");
  }
  if (r.report.findings.length === 0) lines.push("Problems: none (nothing failed, changed or missing).");
  else lines.push("Problems:", ...r.report.findings.map((f) => `- ${oneLine(f.message)} (${f.code})`));
  return lines.join("\n");
}

/**
 * Every migration when there are few; otherwise every one that is not applied plus the
 * newest applied ones, in their order.
 */
function shownMigrations(all: MigrationStatusEntry[]): MigrationStatusEntry[] {
  if (all.length <= STATUS_ROWS_SHOWN) return all;
  const applied = all.filter((m) => m.state === "applied");
  const newest = new Set(applied.slice(-NEWEST_APPLIED_SHOWN));
  return all.filter((m) => m.state !== "applied" || newest.has(m));
}

function lockText(l: LockFacts): string {
  if (!l.holder) return `The migration lock (${oneLine(l.lock)}) is free.`;
  const fields = holderFields(l.holder).map(([label, value]) => `- ${label}: ${oneLine(value)}`);
  return [`The migration lock (${oneLine(l.lock)}) is held by:`, "", ...fields].join("\n");
}

function healthText(h: HealthResult): string {
  return [
    `Worst: ${h.worst} (${h.checks.length} check(s) in ${Math.round(h.elapsedMs)} ms).`,
    "",
    markdownTable(
      ["Check", "Level", "Summary"],
      h.checks.map((c) => [c.name, c.level, c.summary]),
    ),
  ].join("\n");
}

function driftText(d: DriftResult): string {
  const source = oneLine(d.expectedSource);
  const notes = d.notes.map((n) => `- ${oneLine(n)}`);
  if (!d.drift)
    return [`No drift: the live schema matches the expected schema, built from ${source}.`, ...notes].join(
      "\n",
    );
  const byKind = Object.entries(d.counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const shown = d.differences.slice(0, DIFFERENCES_SHOWN);
  const lines = [
    `${d.differences.length} difference(s) from the expected schema, built from ${source}: ${byKind}.`,
    "",
    markdownTable(
      ["Object", "Kind", "Property", "Expected", "Actual"],
      shown.map((x) => [x.object, x.kind, x.property, short(x.expected), short(x.actual)]),
    ),
  ];
  const hidden = d.differences.length - shown.length;
  if (hidden > 0) lines.push("", `${hidden} more: \`confiture migrate drift-detect\` lists them all.`);
  if (notes.length > 0) lines.push("", ...notes);
  return lines.join("\n");
}

function eventsText(table: string, newestFirst: AuditEvent[], more: boolean): string {
  const events = [...newestFirst].reverse();
  const intro = more
    ? `The ${events.length} most recent events in ${oneLine(table)}, oldest first (older ones: \`confiture events\`); the Timeline starts with them.`
    : `All ${events.length} event(s) in ${oneLine(table)}, oldest first; the Timeline starts with them.`;
  const rows = events.map((e) => [
    isoSeconds(new Date(e.at)),
    e.command,
    e.actor,
    e.host,
    e.environment,
    e.outcome,
    details(e.details),
  ]);
  return `${intro}\n\n${markdownTable(["Time (UTC)", "Command", "Actor", "Host", "Environment", "Outcome", "Details"], rows)}`;
}

/** An event's details as short one-line JSON. */
function details(value: Record<string, unknown>): string {
  return Object.keys(value).length === 0 ? "" : short(JSON.stringify(value));
}

/** At most DETAILS_SHOWN characters of one line, redacted before it is shortened (then `…`). */
function short(value: string | null): string {
  if (value === null) return "";
  const text = oneLine(value);
  const clipped = clipRedacted(text, DETAILS_SHOWN);
  return clipped.length < text.length ? `${clipped}…` : clipped;
}

/** `2026-11-25T10:02:03Z`. */
export function isoSeconds(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}
