/**
 * `confiture incident new`: open an incident report in the runbook's template, with the
 * evidence gathered now. Needs no database: what cannot be reached is said in the report.
 */
import { resolve } from "node:path";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { displayUrl } from "../redact/index.js";
import { type GatherOptions, gatherEvidence, type IncidentEvidence } from "./evidence.js";
import { createIncidentFile, incidentsDir, nextIncidentId, writeExclusive } from "./files.js";
import { utcDay } from "./ids.js";
import { type IncidentSeverity, renderReport, SEVERITIES } from "./report.js";
import { oneLine } from "./text.js";

export interface NewIncidentOptions extends GatherOptions {
  title: string;
  /** P1 to P4, any case. */
  severity: string;
  /** Write here instead of `incidents/INC-...md`; an existing file is never overwritten. */
  out?: string | undefined;
  /** The time the incident is opened (default: now). */
  now?: Date | undefined;
}

export interface NewIncidentResult {
  id: string;
  /** Absolute path of the report written. */
  path: string;
  severity: IncidentSeverity;
  evidence: IncidentEvidence;
}

/**
 * Write a new incident report. The title and severity are checked before anything is gathered.
 *
 * @example const { path } = await newIncident(config, { title: "004 failed in production", severity: "P1" });
 */
export async function newIncident(
  config: ConfitureConfig,
  opts: NewIncidentOptions,
): Promise<NewIncidentResult> {
  const severity = parseSeverity(opts.severity);
  const title = oneLine(opts.title ?? "");
  if (title === "")
    throw new UsageError(
      '--title must not be empty: say in a few words what is wrong, e.g. --title "migration 004 failed"',
    );
  const out = opts.out === undefined ? undefined : resolve(opts.out);
  const now = opts.now ?? new Date();
  const day = utcDay(now);
  const dir = incidentsDir(config.projectDir);
  const evidence = await gatherEvidence(config, opts);
  const content = (id: string) =>
    `${renderReport({
      id,
      title,
      severity,
      openedAt: now,
      environment: config.environment ?? "default",
      database: databaseShown(config),
      evidence,
    }).trimEnd()}\n`;
  if (out === undefined) {
    const { id, path } = await createIncidentFile(dir, day, content).catch((err) => unwritable(dir, err));
    return { id, path, severity, evidence };
  }
  const id = await nextIncidentId(dir, day);
  if (!(await writeExclusive(out, content(id)).catch((err) => unwritable(out, err)))) {
    throw new UsageError(
      `${out} already exists; incident new never overwrites a file: choose another --out`,
      "INCIDENT_FILE_EXISTS",
    );
  }
  return { id, path: out, severity, evidence };
}

/**
 * P1 to P4 in any case, returned upper case; anything else is a usage error.
 * @example parseSeverity("p2") // "P2"
 */
export function parseSeverity(text: string | undefined): IncidentSeverity {
  const upper = (text ?? "").trim().toUpperCase();
  const found = SEVERITIES.find((s) => s === upper);
  if (found === undefined) {
    throw new UsageError(`--severity must be one of ${SEVERITIES.join(", ")} (got "${oneLine(text ?? "")}")`);
  }
  return found;
}

/** A file-system error while writing the report, said as what to fix (a missing directory, permissions). */
function unwritable(where: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: "its directory does not exist",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
  };
  const reason = code !== undefined ? why[code] : undefined;
  if (reason === undefined) throw err;
  throw new UsageError(`cannot write the incident report to ${where}: ${reason}`);
}

/** The database as the report shows it: the URL without its password, or why there is none. */
function databaseShown(config: ConfitureConfig): string {
  if (config.database.error !== undefined) return `not known (${oneLine(config.database.error.message)})`;
  const url = config.database.url;
  if (url === undefined || url === "") return "none configured";
  return `${displayUrl(url)}${config.database.source ? ` (from ${config.database.source})` : ""}`;
}
