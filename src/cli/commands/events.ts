/** `confiture events [--limit N] [--since T]`: the audit log, newest first. */
import { COMMANDS, DEFAULT_EVENT_LIMIT, listEvents, redactSecrets, UsageError } from "../../index.js";
import { type Paint, table } from "../output.js";
import { defineCommand, value } from "../spec.js";

/** How long the DETAILS column may get before it is shortened with `…`. */
const DETAILS_SHOWN = 80;

/** Who ran what, where, and how it ended: the confiture_events table as a table or JSON. */
export const eventsCommand = defineCommand({
  name: COMMANDS.events,
  example: "confiture events --since 7d\nconfiture events --limit 5 --format json",
  description: "the audit log: who changed the database with which command, where, and the outcome",
  options: {
    limit: value(
      "--limit <n>",
      `show at most this many events, newest first (default ${DEFAULT_EVENT_LIMIT})`,
    ),
    since: value(
      "--since <time>",
      "only events since an ISO 8601 date or time (2026-11-24, 2026-11-24T21:40:03Z; UTC unless an offset is given) or in the last duration (30m, 2h, 7d)",
    ),
  },
  async run({ config, options }) {
    const limit = positiveWholeNumber(options.limit);
    const r = await listEvents(await config(), { limit, since: options.since });
    return {
      json: { ...r },
      text: (p) => {
        if (!r.tableExists)
          return `No events yet: ${r.table} does not exist, so no command has changed this database.`;
        if (r.events.length === 0)
          return r.since
            ? `No events since ${isoSeconds(r.since)} in ${r.table}.`
            : `No events yet in ${r.table}.`;
        const rows = r.events.map((e) => [
          isoSeconds(e.at),
          e.actor,
          e.host ?? "-",
          e.command,
          e.environment ?? "-",
          paintOutcome(p, e.outcome),
          summarize(e.details),
        ]);
        const headers = ["TIME", "ACTOR", "HOST", "COMMAND", "ENVIRONMENT", "OUTCOME", "DETAILS"];
        const n = r.events.length;
        const footer = r.more
          ? `The ${n} most recent event(s), newest first; more with --limit N or --since T.`
          : `${n} event(s)${r.since ? ` since ${isoSeconds(r.since)}` : ""}, newest first.`;
        return `${table(headers, rows)}\n\n${footer}`;
      },
    };
  },
});

function positiveWholeNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`--limit must be a whole number of at least 1 (got "${text}")`);
  return Number(text);
}

/** `2026-11-24T21:40:03.123Z` -> `2026-11-24T21:40:03Z`. */
function isoSeconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z");
}

function paintOutcome(p: Paint, outcome: string): string {
  if (outcome === "success") return p.green(outcome);
  if (outcome === "failed") return p.red(outcome);
  return p.yellow(outcome);
}

/**
 * An event's details in a few words: `applied: 001_a, 002_b; target: 002_b`. Lists show their
 * first three items, objects their pid when they name a session, the error comes last, and the
 * whole is shortened at a word boundary. One line: whitespace runs become one space.
 */
export function summarize(details: Record<string, unknown>): string {
  const entries = Object.entries(details).sort(([a], [b]) => Number(a === "error") - Number(b === "error"));
  const parts: string[] = [];
  for (const [key, v] of entries) {
    if (v === null || v === undefined || v === false) continue;
    if (v === true) parts.push(key);
    else if (Array.isArray(v)) {
      if (v.length === 0) continue;
      const shown = v.slice(0, 3).map(short).join(", ");
      parts.push(`${key}: ${shown}${v.length > 3 ? ` +${v.length - 3} more` : ""}`);
    } else parts.push(`${key}: ${short(v)}`);
  }
  // Redacted before it is cut: a cut could leave half a password literal that no pattern finds.
  return clip(redactSecrets(parts.join("; ").replace(/\s+/g, " ")), DETAILS_SHOWN);
}

function short(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v && typeof v === "object" && "pid" in v) return `pid ${String((v as { pid: unknown }).pid)}`;
  return JSON.stringify(v) ?? "";
}

/**
 * Shorten at the last space near `max` (or mid-word when there is none), never inside a `'***'`
 * marker (it holds no space; a mid-word cut that would split one keeps it whole), and end with `…`.
 */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = text.lastIndexOf(" ", max);
  if (end < max - 20) {
    end = max;
    const marker = text.lastIndexOf("'***'", end);
    if (marker !== -1 && marker + 5 > end) end = marker + 5;
  }
  return `${text.slice(0, end).replace(/[;,:]$/, "")}…`;
}
