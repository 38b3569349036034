/**
 * Each health check's verdict from the facts already read: pure functions, no I/O, so the
 * thresholds and wording are tested without a server (and the order of checks is health.ts's).
 */

import type { UserObjects } from "../catalog/index.js";
import { formatDuration } from "../config/index.js";
import { describeHolder, type LockHolder } from "../db/advisory-lock.js";
import type { AppliedRow, HistoryTables } from "../history/index.js";
import type { MigrationFile } from "../migrations/files.js";
import { checkChecksums } from "../migrations/history-checks.js";
import { lostHistoryMessage } from "../migrations/lost-history.js";
import { type BackupListing, backupPattern } from "./health-backup-files.js";
import type { ArchiverFacts } from "./health-facts.js";
import type { HealthItem, HealthLevel } from "./health-item.js";

/** Time to a first answer (connect, authenticate, one query) above which the connection is slow. */
export const SLOW_MS = 100;
/** ... and above which it is critical: a probe would time out, a migration would crawl. */
export const CRITICAL_MS = 1000;
/** The oldest server Confiture supports (SPEC: PostgreSQL 12 or newer). */
const MIN_SERVER_VERSION_NUM = 120000;
/** How many ids a summary names before "and N more". */
const IDS_SHOWN = 5;

/**
 * Connected: the time to the first answer to a health query (connecting and authenticating
 * included), and the round trip of that query alone.
 */
export function connectionItem(connectMs: number, roundTripMs: number): HealthItem {
  const total = connectMs + roundTripMs;
  const level: HealthLevel = total > CRITICAL_MS ? "CRIT" : total > SLOW_MS ? "WARN" : "OK";
  const limit =
    level === "CRIT" ? ` (over ${CRITICAL_MS} ms)` : level === "WARN" ? ` (over ${SLOW_MS} ms)` : "";
  return {
    name: "connection",
    level,
    summary: `answered in ${ms(total)} ms${limit}: connect ${ms(connectMs)} ms, round trip ${ms(roundTripMs)} ms`,
    details: { latencyMs: round(total), connectMs: round(connectMs), roundTripMs: round(roundTripMs) },
  };
}

/** Not connected (or lost): the reason as one line, already redacted by the caller. */
export function connectionFailedItem(reason: string, details: Record<string, unknown> = {}): HealthItem {
  return { name: "connection", level: "CRIT", summary: reason.replace(/\s+/g, " ").trim(), details };
}

/** `PostgreSQL 15.4`; older than 12 is a warning. */
export function serverItem(version: string, versionNum: number): HealthItem {
  const shown = `PostgreSQL ${version.split(" ")[0]}`;
  const old = versionNum < MIN_SERVER_VERSION_NUM;
  return {
    name: "server",
    level: old ? "WARN" : "OK",
    summary: old ? `${shown}: older than 12, the oldest version Confiture supports` : shown,
    details: { version, versionNum },
  };
}

/** Migrations need a primary that takes writes. */
export function recoveryItem(readOnly: "standby" | "read-only" | null): HealthItem {
  if (readOnly === "standby") {
    return {
      name: "recovery",
      level: "WARN",
      summary: "in recovery: a standby or a recovery in progress; migrations cannot run here",
      details: { inRecovery: true },
    };
  }
  if (readOnly === "read-only") {
    return {
      name: "recovery",
      level: "WARN",
      summary:
        "primary (not in recovery), but read-only by default (default_transaction_read_only); migrations cannot run here",
      details: { inRecovery: false, readOnlyByDefault: true },
    };
  }
  return {
    name: "recovery",
    level: "OK",
    summary: "primary (not in recovery)",
    details: { inRecovery: false },
  };
}

/**
 * Present (with its row count); missing on an empty schema is a warning; an empty or missing
 * history over a schema that holds user objects is lost history (`untracked` is only read when
 * the history is empty).
 */
export function trackingItem(
  tables: HistoryTables,
  exists: boolean,
  rows: number,
  untracked: UserObjects | undefined,
): HealthItem {
  const table = `${tables.schema}.${tables.trackingTable}`;
  const details: Record<string, unknown> = { table, exists, rows };
  if (untracked !== undefined && untracked.count > 0) {
    return {
      name: "tracking table",
      level: "CRIT",
      summary: lostHistoryMessage(tables, untracked),
      details: { ...details, untrackedObjects: untracked },
    };
  }
  if (!exists) {
    return {
      name: "tracking table",
      level: "WARN",
      summary: `${table} does not exist (schema ${tables.schema} holds no objects yet): run "confiture init" or "confiture migrate up"`,
      details,
    };
  }
  return { name: "tracking table", level: "OK", summary: `${table} present (${rows} row(s))`, details };
}

/** The history could not be read (a permission, say): the checks that need it are not listed. */
export function trackingUnreadableItem(tables: HistoryTables, reason: string): HealthItem {
  const table = `${tables.schema}.${tables.trackingTable}`;
  return {
    name: "tracking table",
    level: "CRIT",
    summary: `cannot read ${table}: ${reason.replace(/\s+/g, " ").trim()}`,
    details: { table },
  };
}

/** Free, or held: by whom and for how long. */
export function lockItem(label: string, holder: LockHolder | undefined): HealthItem {
  if (holder === undefined) return { name: "migration lock", level: "OK", summary: `free (${label})` };
  // The lock is taken right after connecting: the session's age is how long it has been held.
  const age =
    holder.sinceSeconds === null || holder.sinceSeconds === undefined
      ? ""
      : ` for ${formatAge(holder.sinceSeconds)}`;
  return {
    name: "migration lock",
    level: "WARN",
    summary: `held${age} by ${describeHolder(holder)}`,
    details: { lock: label, holder },
  };
}

/** Files with no history row, oldest first. */
export function pendingItem(files: MigrationFile[], history: AppliedRow[]): HealthItem {
  const recorded = new Set(history.map((r) => r.version));
  const pending = files.filter((f) => !recorded.has(f.id)).map((f) => f.id);
  if (pending.length === 0)
    return { name: "pending migrations", level: "OK", summary: "none", details: { pending } };
  return {
    name: "pending migrations",
    level: "WARN",
    summary: `${pending.length} pending (oldest ${pending[0]})`,
    details: { pending },
  };
}

/** Rows recorded as `failed`: a migration that did not finish, to be settled by a person. */
export function failedItem(history: AppliedRow[]): HealthItem {
  const failed = history.filter((r) => r.status === "failed");
  if (failed.length === 0)
    return { name: "failed migrations", level: "OK", summary: "none", details: { failed: [] } };
  return {
    name: "failed migrations",
    level: "CRIT",
    summary:
      `${failed.length} failed: ${listIds(failed.map((r) => r.version))}; ` +
      `settle with "confiture migrate resolve ID --applied|--rolled-back"`,
    details: { failed: failed.map((r) => ({ id: r.version, error: r.error })) },
  };
}

/** Changed or unrecorded checksums are critical; an applied migration whose file is gone is a warning. */
export function checksumsItem(files: MigrationFile[], history: AppliedRow[]): HealthItem {
  const problems = checkChecksums(files, history);
  const changed = problems.filter((p) => p.kind !== "missing-file");
  const missing = problems.filter((p) => p.kind === "missing-file").map((p) => p.id);
  const details = { mismatches: changed, missingFiles: missing };
  const parts: string[] = [];
  if (changed.length > 0) {
    parts.push(
      `${changed.length} applied file(s) changed or without a recorded checksum: ${listIds(changed.map((p) => p.id))}` +
        ` (see "confiture migrate verify-checksums")`,
    );
  }
  if (missing.length > 0)
    parts.push(`${missing.length} applied migration(s) without a file: ${listIds(missing)}`);
  if (parts.length === 0) {
    const checked = history.filter((r) => r.status !== "failed").length;
    return { name: "checksums", level: "OK", summary: `${checked} applied file(s) match`, details };
  }
  return {
    name: "checksums",
    level: changed.length > 0 ? "CRIT" : "WARN",
    summary: parts.join("; "),
    details,
  };
}

/** How many unusable backup names a summary shows before "and N more". */
const UNUSABLE_SHOWN = 3;

/**
 * What to do when there is no fresh backup: take one with `backup create`, which writes the
 * dump and the metadata this check reads.
 * @example takeBackup("/b", "app") // run "confiture backup create" (it writes /b/app_<YYYYMMDDTHHMMSSZ>.dump and its metadata)
 */
export function takeBackup(dir: string, database: string): string {
  return `run "confiture backup create" (it writes ${dir}/${backupPattern(database)} and its metadata)`;
}

/**
 * The newest backup's age against `objectives.rpo`: not checked without an RPO; with one,
 * older than the RPO is critical and no backup at all a warning. An entry that looks like a
 * backup but is not a complete one (no metadata, no dump, dated in the future) never counts as
 * the newest backup, and is a warning naming it.
 */
export function backupItem(
  listing: BackupListing | undefined,
  rpoMs: number | undefined,
  now: Date,
): HealthItem {
  const newest = listing?.newest ?? null;
  const ageMs = newest === null ? null : Math.max(0, now.getTime() - newest.takenAt.getTime());
  const unusable = listing?.unusable ?? [];
  const details: Record<string, unknown> = {
    dir: listing?.dir ?? null,
    pattern: listing === undefined ? null : backupPattern(listing.database),
    newest: newest?.name ?? null,
    takenAt: newest?.takenAt.toISOString() ?? null,
    ageMs,
    rpoMs: rpoMs ?? null,
    unusable: unusable.map((u) => ({ name: u.name, takenAt: u.takenAt.toISOString(), why: u.why })),
  };
  const newestText =
    newest === null || ageMs === null ? undefined : `newest ${newest.name} (${formatAge(ageMs / 1000)} old)`;
  const more = unusable.length - UNUSABLE_SHOWN;
  const notCounted =
    unusable.length === 0
      ? undefined
      : `not counted as a backup: ${unusable
          .slice(0, UNUSABLE_SHOWN)
          .map((u) => `${u.name} (${u.why})`)
          .join(", ")}${more > 0 ? `, and ${more} more` : ""}`;
  const level = (otherwise: HealthLevel): HealthLevel => (notCounted !== undefined ? "WARN" : otherwise);
  if (rpoMs === undefined) {
    const facts = [newestText, notCounted].filter((f) => f !== undefined);
    return {
      name: "backups",
      level: level("OK"),
      summary: `not checked: objectives.rpo is not set${facts.map((f) => `; ${f}`).join("")}`,
      details,
    };
  }
  const rpo = formatDuration(rpoMs);
  if (listing === undefined) {
    return {
      name: "backups",
      level: "WARN",
      summary: "not checked: the database name is not known",
      details,
    };
  }
  const take = takeBackup(listing.dir, listing.database);
  if (newest === null || ageMs === null) {
    const where = listing.dirExists ? listing.dir : `${listing.dir} (the directory does not exist)`;
    return {
      name: "backups",
      level: "WARN",
      summary: `no backup in ${where}${notCounted ? ` (${notCounted})` : ""}: ${take}`,
      details,
    };
  }
  if (ageMs > rpoMs) {
    return {
      name: "backups",
      level: "CRIT",
      summary: `${newestText} is older than objectives.rpo (${rpo})${notCounted ? `; ${notCounted}` : ""}: ${take}`,
      details,
    };
  }
  return {
    name: "backups",
    level: level("OK"),
    summary: `${newestText}, within objectives.rpo (${rpo})${notCounted ? `; ${notCounted}` : ""}`,
    details,
  };
}

/**
 * WAL archiving from pg_stat_archiver: off is fine (nothing to fail); failing now (a failure
 * newer than the last success, or no success ever) is critical; failures it recovered from
 * are a warning. `serverNow` dates the ages on the server's clock.
 */
export function walItem(a: ArchiverFacts, serverNow: string): HealthItem {
  const details: Record<string, unknown> = { ...a };
  if (a.archiveMode === "off")
    return { name: "wal archiving", level: "OK", summary: "off (archive_mode = off)", details };
  const at = (time: string | null) =>
    time === null ? "?" : `${isoSeconds(time)} (${ago(time, serverNow)} ago)`;
  const failure = `${a.lastFailedWal ?? "?"} at ${at(a.lastFailedTime)}`;
  const since = a.statsReset === null ? "" : ` since ${isoSeconds(a.statsReset)}`;
  if (a.failedCount > 0) {
    // Same fixed ISO format on both sides: comparing the text compares the times.
    const failingNow =
      a.lastArchivedTime === null || (a.lastFailedTime !== null && a.lastFailedTime >= a.lastArchivedTime);
    if (failingNow) {
      return {
        name: "wal archiving",
        level: "CRIT",
        summary:
          `failing: the last attempt failed (${failure})` +
          `${a.lastArchivedTime === null ? " and no WAL was archived yet" : `; last success ${a.lastArchivedWal ?? "?"} at ${at(a.lastArchivedTime)}`}` +
          `; ${a.failedCount} failure(s)${since}; check archive_command and the server log`,
        details,
      };
    }
    return {
      name: "wal archiving",
      level: "WARN",
      summary:
        `${a.failedCount} failure(s)${since}, the last ${failure}; archived since: ` +
        `${a.lastArchivedWal ?? "?"} at ${at(a.lastArchivedTime)}`,
      details,
    };
  }
  if (a.lastArchivedTime === null) {
    return {
      name: "wal archiving",
      level: "OK",
      summary: `on, no WAL archived yet, no failure${since}`,
      details,
    };
  }
  return {
    name: "wal archiving",
    level: "OK",
    summary: `on, last archived ${a.lastArchivedWal ?? "?"} at ${at(a.lastArchivedTime)}`,
    details,
  };
}

/** `192` -> `3m12s`: the largest two units, as a person reads an age. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

function ago(time: string, now: string): string {
  return formatAge((Date.parse(now) - Date.parse(time)) / 1000);
}

/** `2026-11-25T01:30:00.123456Z` -> `2026-11-25T01:30:00Z`. */
function isoSeconds(time: string): string {
  return time.length > 19 ? `${time.slice(0, 19)}Z` : time;
}

function listIds(ids: string[]): string {
  const more = ids.length - IDS_SHOWN;
  return `${ids.slice(0, IDS_SHOWN).join(", ")}${more > 0 ? `, and ${more} more` : ""}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function ms(n: number): string {
  return n < 10 ? n.toFixed(1) : String(Math.round(n));
}
