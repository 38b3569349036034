/**
 * `pitr status`: can this server be recovered to a point in time, and how much would be lost
 * now? `wal_level`, `archive_mode`, `archive_command` / `archive_library`, pg_stat_archiver, and
 * the RPO exposure (the age of the last archived WAL) against `objectives.rpo`. Read-only.
 */
import { COMMANDS } from "../commands.js";
import { type ConfitureConfig, formatDuration } from "../config/index.js";
import { inspect, runContext } from "../ops/context.js";
import { type CheckReport, type Finding, report } from "../ops/report.js";

/** OK: recoverable within the RPO; WARN: PITR is off, failing or unproven; CRIT: exposure over the RPO. */
export type PitrLevel = "OK" | "WARN" | "CRIT";

export interface PitrArchiver {
  archivedCount: number;
  lastArchivedWal: string | null;
  /** ISO 8601 UTC, or null when nothing was archived since the statistics were reset. */
  lastArchivedTime: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
  statsReset: string | null;
}

export interface PitrStatusResult {
  database: string;
  serverVersion: string;
  /** The server's clock when it was read (ISO 8601 UTC). */
  serverNow: string;
  walLevel: string;
  archiveMode: string;
  /** null when this role may not read it (needs superuser or pg_read_all_settings). */
  archiveCommand: string | null;
  /** PostgreSQL 15+: `archive_library` ("" when unset); null when not visible or not on this version. */
  archiveLibrary: string | null;
  /** True when the settings above could not all be read by this role. */
  settingsHidden: boolean;
  archiver: PitrArchiver;
  /** `objectives.rpo` in ms, or null when unset. */
  rpoMs: number | null;
  /** Time since the last archived WAL in ms (what a recovery now would lose at most), or null when unknown. */
  exposureMs: number | null;
  level: PitrLevel;
  /** One sentence each: the verdict, then what to do. */
  summary: string;
  report: CheckReport;
}

const SQL = `
select current_database() as database,
       current_setting('server_version') as "serverVersion",
       current_setting('server_version_num')::int as "versionNum",
       ${iso("now()")} as "serverNow",
       current_setting('wal_level') as "walLevel",
       current_setting('archive_mode') as "archiveMode",
       (select setting from pg_settings where name = 'archive_command') as "archiveCommand",
       (select setting from pg_settings where name = 'archive_library') as "archiveLibrary",
       a.archived_count::int8::text as "archivedCount", a.last_archived_wal as "lastArchivedWal",
       ${iso("a.last_archived_time")} as "lastArchivedTime",
       a.failed_count::int8::text as "failedCount", a.last_failed_wal as "lastFailedWal",
       ${iso("a.last_failed_time")} as "lastFailedTime",
       ${iso("a.stats_reset")} as "statsReset",
       (extract(epoch from now() - a.last_archived_time) * 1000)::int8::text as "exposureMs"
  from pg_stat_archiver a`;

function iso(expr: string): string {
  return `to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

interface Row {
  database: string;
  serverVersion: string;
  versionNum: number;
  serverNow: string;
  walLevel: string;
  archiveMode: string;
  archiveCommand: string | null;
  archiveLibrary: string | null;
  archivedCount: string;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  failedCount: string;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
  statsReset: string | null;
  exposureMs: string | null;
}

/**
 * Read the archiving state and judge it against `objectives.rpo`.
 * @example const { level, report } = await pitrStatus(config);
 */
export async function pitrStatus(config: ConfitureConfig): Promise<PitrStatusResult> {
  const run = runContext(config, COMMANDS.pitrStatus);
  const row = await inspect(run, async ({ session }) => {
    const [r] = await session.query<Row>(SQL);
    if (r === undefined) throw new Error("pg_stat_archiver returned no row");
    return r;
  });
  return judge(row, config.objectives.rpoMs ?? null);
}

function judge(r: Row, rpoMs: number | null): PitrStatusResult {
  const archiver: PitrArchiver = {
    archivedCount: Number(r.archivedCount),
    lastArchivedWal: r.lastArchivedWal,
    lastArchivedTime: r.lastArchivedTime,
    failedCount: Number(r.failedCount),
    lastFailedWal: r.lastFailedWal,
    lastFailedTime: r.lastFailedTime,
    statsReset: r.statsReset,
  };
  const hasLibrary = r.versionNum >= 150000;
  const settingsHidden = r.archiveCommand === null || (hasLibrary && r.archiveLibrary === null);
  const on = r.archiveMode !== "off" && r.walLevel !== "minimal";
  const exposureMs = on && r.exposureMs !== null ? Math.max(0, Number(r.exposureMs)) : null;
  const findings: Finding[] = [];
  const warn = (message: string) =>
    findings.push({ code: "PITR_AT_RISK", severity: "warning", subject: "wal archiving", message });
  const crit = (message: string) =>
    findings.push({ code: "PITR_AT_RISK", severity: "critical", subject: "rpo exposure", message });

  const failingNow =
    archiver.failedCount > 0 &&
    (archiver.lastArchivedTime === null ||
      (archiver.lastFailedTime !== null && archiver.lastFailedTime >= archiver.lastArchivedTime));
  if (!on) {
    warn(
      r.walLevel === "minimal"
        ? "wal_level is minimal: no point-in-time recovery is possible; set wal_level = replica and archive_mode = on (restart needed)"
        : "WAL archiving is off (archive_mode = off): no point-in-time recovery is possible; set archive_mode = on and archive_command (restart needed)",
    );
  } else {
    if (failingNow) {
      warn(
        `WAL archiving is failing: the last attempt (${archiver.lastFailedWal ?? "?"} at ${seconds(archiver.lastFailedTime)}) failed; ` +
          "check archive_command and the server log",
      );
    } else if (archiver.failedCount > 0) {
      warn(
        `${archiver.failedCount} archiving failure(s) since the statistics were reset; archiving works again`,
      );
    }
    if (archiver.lastArchivedTime === null) {
      warn(
        "WAL archiving is on but no WAL was archived yet: recovery is unproven (try select pg_switch_wal())",
      );
    } else if (rpoMs !== null && exposureMs !== null && exposureMs > rpoMs) {
      crit(
        `the last archived WAL (${archiver.lastArchivedWal ?? "?"}) is ${formatDuration(exposureMs)} old, ` +
          `more than objectives.rpo (${formatDuration(rpoMs)}): a recovery now could lose that much; ` +
          "check that archiving keeps up and set archive_timeout below the RPO",
      );
    }
  }
  const checkReport = report(
    findings,
    (critical) => critical[0]?.message ?? "point-in-time recovery is at risk",
    "PITR_AT_RISK",
  );
  const level: PitrLevel = !checkReport.ok ? "CRIT" : findings.length > 0 ? "WARN" : "OK";
  const summary =
    findings.length > 0
      ? findings.map((f) => f.message).join("; ")
      : `archiving works: last archived ${archiver.lastArchivedWal ?? "?"} at ${seconds(archiver.lastArchivedTime)}` +
        (exposureMs === null ? "" : ` (${formatDuration(exposureMs)} ago)`) +
        (rpoMs === null
          ? "; objectives.rpo is not set"
          : `, within objectives.rpo (${formatDuration(rpoMs)})`);
  return {
    database: r.database,
    serverVersion: r.serverVersion,
    serverNow: r.serverNow,
    walLevel: r.walLevel,
    archiveMode: r.archiveMode,
    archiveCommand: r.archiveCommand,
    archiveLibrary: hasLibrary ? r.archiveLibrary : null,
    settingsHidden,
    archiver,
    rpoMs,
    exposureMs,
    level,
    summary,
    report: checkReport,
  };
}

/** `2024-01-15T14:30:00.123456Z` -> `2024-01-15 14:30:00 UTC`. */
function seconds(time: string | null): string {
  return time === null ? "?" : `${time.slice(0, 19).replace("T", " ")} UTC`;
}
