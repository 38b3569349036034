/**
 * Checks for single values once `${VAR}` is expanded: durations, identifiers, booleans, ...
 * Each returns the typed value or a problem phrase that reads after the key name, e.g.
 * `lock_timeout` + ` must be a duration such as 60s, 5m or 500ms, got "5x"`.
 */

import { clipRedacted, redactText } from "../redact/index.js";
import type { KindValue, ValueKind } from "./definition.js";
import { parseDuration } from "./duration.js";

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/** What PostgreSQL accepts as an unquoted-style name; Confiture still quotes it when it builds SQL. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

// lock_timeout and statement_timeout are int4 milliseconds in PostgreSQL.
const MAX_LOCK_MS = 2_147_483_647;

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(problem: string): Checked<T> => ({ ok: false, problem });

/** How much of a bad value a message quotes back. */
const SHOWN_MAX = 200;

/**
 * A bad value as a message quotes it back: JSON, redacted as a whole, THEN cut to SHOWN_MAX
 * characters (a cut before redaction could cut a secret's end off and leave it unrecognised),
 * followed by `… (N characters)` when cut.
 */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value); // a cyclic YAML alias
  }
  const redacted = redactText(text);
  if (redacted.length <= SHOWN_MAX) return redacted;
  const length = typeof value === "string" ? value.length : text.length;
  return `${clipRedacted(redacted, SHOWN_MAX)}… (${length} characters)`;
}

/** A non-empty string (URLs and paths). */
export function checkText(value: unknown): Checked<string> {
  if (typeof value !== "string") return bad(`must be a string, got ${shown(value)}`);
  if (value.trim() === "") return bad("is empty");
  return ok(value);
}

/** A schema or table name Confiture can manage. */
export function checkIdentifier(value: unknown): Checked<string> {
  if (typeof value === "string" && IDENTIFIER.test(value)) return ok(value);
  return bad(
    `must be an SQL identifier (a letter or _, then letters, digits, _ or $; at most 63 characters), got ${shown(value)}`,
  );
}

/** A duration in milliseconds; see duration.ts for the syntax. */
export function checkDuration(value: unknown, maxMs = Number.MAX_SAFE_INTEGER): Checked<number> {
  const ms = typeof value === "string" || typeof value === "number" ? parseDuration(value) : undefined;
  if (ms === undefined) {
    return bad(
      `must be a duration such as 60s, 5m, 1h or 500ms (a bare number means seconds), got ${shown(value)}`,
    );
  }
  if (ms > maxMs) return bad(`must be at most ${maxMs} ms (about 24 days), got ${shown(value)}`);
  return ok(ms);
}

/** A lock_timeout-style duration: PostgreSQL takes at most int4 milliseconds. */
export function checkLockDuration(value: unknown): Checked<number> {
  return checkDuration(value, MAX_LOCK_MS);
}

/** true/false, also as the strings "true"/"false" that `${VAR}` produces. */
export function checkBoolean(value: unknown): Checked<boolean> {
  if (typeof value === "boolean") return ok(value);
  if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) {
    return ok(value.trim().toLowerCase() === "true");
  }
  return bad(`must be true or false, got ${shown(value)}`);
}

/** A whole number in [min, max], also as a digit string. */
export function checkInteger(value: unknown, min: number, max: number): Checked<number> {
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return ok(n);
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return bad(`must be a whole number ${range}, got ${shown(value)}`);
}

/** pg_dump's output formats Confiture can verify and restore. */
export function checkBackupFormat(value: unknown): Checked<KindValue["backup-format"]> {
  if (value === "custom" || value === "directory") return ok(value);
  return bad(`must be "custom" or "directory", got ${shown(value)}`);
}

/** A list of shell commands. */
export function checkCommands(value: unknown): Checked<string[]> {
  if (Array.isArray(value) && value.every((item) => typeof item === "string" && item.trim() !== "")) {
    return ok(value as string[]);
  }
  return bad('must be a list of non-empty shell commands, e.g. ["./run_smoke_tests.sh"]');
}

// Typed per kind, so a check that disagrees with the kind's value type in definition.ts fails tsc.
const CHECKS: { [K in ValueKind]: (value: unknown) => Checked<KindValue[K]> } = {
  url: checkText,
  identifier: checkIdentifier,
  path: checkText,
  duration: (value) => checkDuration(value),
  "lock-duration": checkLockDuration,
  boolean: checkBoolean,
  compress: (value) => checkInteger(value, 0, 9),
  retention: (value) => checkInteger(value, 1, Number.MAX_SAFE_INTEGER),
  "backup-format": checkBackupFormat,
  commands: checkCommands,
};

/**
 * The events table Confiture keeps next to the tracking table, in the same schema (the same
 * name as history/tables.ts EVENTS_TABLE, which config/ cannot import; a test holds them equal).
 */
export const EVENTS_TABLE_NAME = "confiture_events";

/**
 * Checks that belong to one setting rather than to its kind, by the setting's YAML path inside
 * a layer (`tracking_table`, `backup.dir`, ...). Each returns a problem phrase or undefined.
 */
const SETTING_CHECKS: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  tracking_table: (value) =>
    value === EVENTS_TABLE_NAME
      ? `must not be "${EVENTS_TABLE_NAME}": that is Confiture's events table (the audit log), kept in the same schema; choose another name, e.g. confiture_migrations`
      : undefined,
};

/**
 * What is wrong with `value` for the setting at `yaml` beyond its kind's check (run that
 * first), or undefined.
 * @example settingProblem(["tracking_table"], "confiture_events") // 'must not be "confiture_events": ...'
 */
export function settingProblem(yaml: readonly string[], value: unknown): string | undefined {
  const key = yaml.join(".");
  return Object.hasOwn(SETTING_CHECKS, key) ? SETTING_CHECKS[key]?.(value) : undefined;
}

/** The check for a kind of value. */
export function checkerFor<K extends ValueKind>(kind: K): (value: unknown) => Checked<KindValue[K]> {
  return CHECKS[kind];
}
