/**
 * `confiture events`: the audit log (`<schema>.confiture_events`) read back, newest first —
 * who ran which command that changed the database, from where, in which environment, and how
 * it ended. Reading it takes no lock and creates nothing.
 */
import { COMMANDS } from "../commands.js";
import { type ConfitureConfig, parseDuration } from "../config/index.js";
import { UsageError } from "../errors.js";
import { type AuditEvent, EVENTS_TABLE } from "../history/index.js";
import { inspect, runContext } from "../ops/context.js";

export type { AuditEvent };

/** How many events `listEvents` returns when no limit is given. */
export const DEFAULT_EVENT_LIMIT = 50;

export interface ListEventsOptions {
  /** At most this many events (the newest); default 50. */
  limit?: number | undefined;
  /**
   * Only events recorded at or after this time: a Date, or text as `parseSince` reads it
   * (`2026-11-24`, `2026-11-24T21:40:03Z`, or a duration such as `2h` / `7d` meaning "in the last ...").
   */
  since?: Date | string | undefined;
}

export interface EventsResult {
  /** The events table, `<schema>.confiture_events`. */
  table: string;
  /** False when no command has recorded an event in this database yet (the table does not exist). */
  tableExists: boolean;
  limit: number;
  /** The lower bound applied, ISO 8601 UTC; null when none was given. */
  since: string | null;
  /** Newest first. */
  events: AuditEvent[];
  /** True when more events match than `limit` let through. */
  more: boolean;
}

/**
 * Read the audit log.
 *
 * @example
 * const { events } = await listEvents(await loadConfig({}), { limit: 10, since: "7d" });
 */
export async function listEvents(
  config: ConfitureConfig,
  opts: ListEventsOptions = {},
): Promise<EventsResult> {
  const limit = opts.limit ?? DEFAULT_EVENT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new UsageError(`--limit must be a whole number of at least 1 (got ${limit})`);
  }
  const since = typeof opts.since === "string" ? parseSince(opts.since) : opts.since;
  if (since !== undefined && Number.isNaN(since.getTime()))
    throw new UsageError("--since is not a valid time");
  const run = runContext(config, COMMANDS.events);
  const table = `${run.tables.schema}.${EVENTS_TABLE}`;
  // One more than asked, to know whether there are more.
  const rows = await inspect(run, ({ history }) => history.readEvents({ limit: limit + 1, since }));
  return {
    table,
    tableExists: rows !== null,
    limit,
    since: since?.toISOString() ?? null,
    events: (rows ?? []).slice(0, limit),
    more: (rows ?? []).length > limit,
  };
}

const DATE = /^(\d{4}-\d{2}-\d{2})$/;
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * `--since`: an ISO 8601 date (midnight UTC), date and time (UTC unless it carries an offset),
 * or a duration back from `now` (`30m`, `2h`, `7d`, `1h30m`). Throws a usage error otherwise.
 * @example parseSince("2h", new Date("2026-11-24T12:00:00Z")) // 2026-11-24T10:00:00.000Z
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const value = text.trim();
  // A duration needs its unit: a bare number is more likely a mistyped date than seconds.
  const ms = /[a-z]$/i.test(value) && /^\d/.test(value) ? parseDuration(value) : undefined;
  if (ms !== undefined) return new Date(now.getTime() - ms);
  let iso: string | undefined;
  const date = DATE.exec(value);
  if (date) iso = `${date[1]}T00:00:00Z`;
  const dateTime = DATE_TIME.exec(value);
  if (dateTime) {
    const zone = (dateTime[3] ?? "Z").toUpperCase();
    const offset =
      zone === "Z" ? zone : zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d{2}):?/, "$1:");
    iso = `${dateTime[1]}T${dateTime[2]}${offset}`;
  }
  const parsed = iso === undefined ? Number.NaN : Date.parse(iso);
  // Date.parse rolls 2026-02-30 over into March; the calendar date must survive unchanged.
  const day = (date ?? dateTime)?.[1];
  const sameDay =
    day !== undefined &&
    !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) &&
    new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
  if (Number.isNaN(parsed) || !sameDay) {
    throw new UsageError(
      `--since must be an ISO 8601 date or time (2026-11-24, 2026-11-24T21:40:03Z) or a duration meaning ` +
        `"in the last ..." (30m, 2h, 7d); got "${value}"`,
    );
  }
  return new Date(parsed);
}
