/**
 * What `health check` returns: one verdict per check, the worst of them, and a report whose
 * critical findings make the CLI exit 3.
 */
import type { CheckReport, Finding } from "../ops/report.js";
import { report } from "../ops/report.js";

/** A check's verdict: `CRIT` makes the whole check fail (exit 3); `WARN` is shown but does not. */
export type HealthLevel = "OK" | "WARN" | "CRIT";

/** One check, e.g. `{ name: "pending migrations", level: "WARN", summary: "2 pending (oldest 003_x)" }`. */
export interface HealthItem {
  name: string;
  level: HealthLevel;
  /** One line for a person. */
  summary: string;
  /** The facts behind the verdict, for JSON readers. */
  details?: Record<string, unknown>;
}

/** Every check of one run, in the order they are listed. */
export interface HealthResult {
  /** The database checked (the URL's, when the server could not be reached), or null when unknown. */
  database: string | null;
  checks: HealthItem[];
  worst: HealthLevel;
  /** Wall time of the whole check. */
  elapsedMs: number;
  /** One `UNHEALTHY` finding per check: critical for CRIT, warning for WARN. */
  report: CheckReport;
}

const RANK: Record<HealthLevel, number> = { OK: 0, WARN: 1, CRIT: 2 };

/** The most serious level among `items` (OK when there are none). */
export function worstOf(items: HealthItem[]): HealthLevel {
  let worst: HealthLevel = "OK";
  for (const i of items) if (RANK[i.level] > RANK[worst]) worst = i.level;
  return worst;
}

/**
 * The report of a run: a finding per CRIT (critical) and WARN (warning) check, all with code
 * `UNHEALTHY` and the check's name as subject; the failure names every critical check.
 */
export function healthReport(items: HealthItem[]): CheckReport {
  const findings: Finding[] = [];
  for (const i of items) {
    if (i.level === "OK") continue;
    findings.push({
      code: "UNHEALTHY",
      severity: i.level === "CRIT" ? "critical" : "warning",
      subject: i.name,
      message: `${i.name}: ${i.summary}`,
    });
  }
  return report(findings, (critical) => `unhealthy: ${critical.map((f) => f.message).join("; ")}`);
}
