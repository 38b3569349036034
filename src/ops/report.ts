/**
 * What checks return: a report of findings with stable codes and severities. A check never
 * throws for what it finds; the caller (the CLI, in one place) turns a failing report into
 * exit 3. status and verify-checksums report today; drift, verify and health will.
 */
import type { CodeOf } from "../errors.js";

/** `critical` makes the report fail (exit 3); `warning` is shown but does not. */
export type Severity = "critical" | "warning";

/** One thing a check found. */
export interface Finding {
  /** A stable code from ERROR_CODES (category "check"), e.g. `CHECKSUM_MISMATCH`. */
  code: CodeOf<"check">;
  severity: Severity;
  /** What it is about, e.g. a migration id. */
  subject: string;
  /** One sentence for a person. */
  message: string;
}

/** A check's verdict: its findings, and when any is critical, one summary line and code. */
export interface CheckReport {
  /** True when no finding is critical. */
  ok: boolean;
  findings: Finding[];
  /** Set exactly when `ok` is false (null otherwise): the code and message of the failure as a whole. */
  failure: { code: CodeOf<"check">; message: string } | null;
}

/**
 * Build a report. `summarize` is asked for the one-line failure only when a finding is critical;
 * the failure's code is `code`, or else the first critical finding's.
 * @example report(findings, (critical) => `${critical.length} problem(s)`)
 */
export function report(
  findings: Finding[],
  summarize: (critical: Finding[]) => string,
  code?: CodeOf<"check">,
): CheckReport {
  const critical = findings.filter((f) => f.severity === "critical");
  if (critical.length === 0) return { ok: true, findings, failure: null };
  return {
    ok: false,
    findings,
    failure: { code: code ?? critical[0]!.code, message: summarize(critical) },
  };
}
