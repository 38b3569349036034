/**
 * The incident report: the runbook's "Incident Response Template" section for section, with
 * what Confiture knows filled in (id, date, severity, status, environment, title, the
 * timeline from the audit log) and the placeholders left where a person must write.
 */
import type { AuditEvent } from "../audit/events.js";
import { renderAppendix } from "./appendix.js";
import type { IncidentEvidence } from "./evidence.js";
import { oneLine } from "./text.js";
import { timelineRow, timelineTime } from "./timeline.js";

/** The runbook's severities. */
export const SEVERITIES = ["P1", "P2", "P3", "P4"] as const;
export type IncidentSeverity = (typeof SEVERITIES)[number];

/** What the report is written from. */
export interface ReportInput {
  id: string;
  title: string;
  severity: IncidentSeverity;
  openedAt: Date;
  /** The environment name, or "default". */
  environment: string;
  /** The database as it may be shown (password hidden), or why there is none. */
  database: string;
  evidence: IncidentEvidence;
}

/** The timeline's last prefilled row. */
export const OPENED_EVENT = "Incident opened (confiture incident new)";

/**
 * The report's Markdown.
 * @example renderReport({ id: "INC-20261125-001", title: "004 failed", severity: "P1", ... })
 */
export function renderReport(input: ReportInput): string {
  const day = input.openedAt.toISOString().slice(0, 10);
  const events = input.evidence.events.status === "collected" ? input.evidence.events.value.events : [];
  const timeline = [
    ...[...events].reverse().map((e) => timelineRow(timelineTime(new Date(e.at), day), eventLine(e))),
    timelineRow(timelineTime(input.openedAt, day), OPENED_EVENT),
  ];
  return [
    `# Incident Report: ${oneLine(input.title)}`,
    "",
    `**Incident ID:** ${input.id}`,
    `**Date:** ${day}`,
    "**Duration:** [X hours Y minutes]",
    `**Severity:** ${input.severity}`,
    "**Status:** Ongoing",
    `**Environment:** ${oneLine(input.environment)}; database ${oneLine(input.database)}`,
    "",
    "## Summary",
    "",
    "[1-2 sentence description of what happened]",
    "",
    "## Impact",
    "",
    "- **Users affected:** [Number/percentage]",
    "- **Services affected:** [List]",
    "- **Data impact:** [None/Read-only/Data loss]",
    "- **Financial impact:** [If applicable]",
    "",
    "## Timeline (UTC)",
    "",
    "| Time | Event |",
    "|------|-------|",
    ...timeline,
    "",
    "## Root Cause",
    "",
    "[Detailed explanation of what caused the incident]",
    "",
    "## Resolution",
    "",
    "[Steps taken to resolve the incident]",
    "",
    "## Prevention",
    "",
    "### Immediate Actions",
    "- [ ] [Action 1]",
    "- [ ] [Action 2]",
    "",
    "### Long-term Improvements",
    "- [ ] [Improvement 1]",
    "- [ ] [Improvement 2]",
    "",
    "## Lessons Learned",
    "",
    "1. [Lesson 1]",
    "2. [Lesson 2]",
    "",
    "## References",
    "",
    "- [Link to relevant logs]",
    "- [Link to related tickets]",
    "- [Link to runbook used]",
    "- Evidence collected by confiture: see the appendix below",
    "",
    "---",
    "**Prepared by:** [Name]",
    "**Reviewed by:** [Name]",
    "**Approved by:** [Name]",
    "",
    renderAppendix(input.evidence),
  ].join("\n");
}

/** An audit event as a timeline entry: `confiture migrate up by app on host1 (staging): success`. */
function eventLine(e: AuditEvent): string {
  const where = `${e.host ? ` on ${e.host}` : ""}${e.environment ? ` (${e.environment})` : ""}`;
  return `confiture ${e.command} by ${e.actor}${where}: ${e.outcome}`;
}
