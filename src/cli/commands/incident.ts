/** `confiture incident new` and `confiture incident log`. */
import { isAbsolute, relative } from "node:path";
import { COMMANDS, type IncidentEvidence, logIncident, newIncident, type Piece } from "../../index.js";
import { defineCommand, negatable, required, value } from "../spec.js";

/** The evidence sections in the order the report lists them, as people name them. */
const SECTIONS: Array<[keyof Omit<IncidentEvidence, "collectedAt">, string]> = [
  ["database", "database"],
  ["migrations", "migration status"],
  ["lock", "lock holder"],
  ["health", "health"],
  ["drift", "drift"],
  ["events", "recent events"],
];

/** Open an incident report with the evidence gathered now. */
export const incidentNewCommand = defineCommand({
  name: COMMANDS.incidentNew,
  example:
    'confiture incident new --title "migration 004 failed in production" --severity P1\n' +
    'confiture incident new --title "slow deploy" --severity p3 --no-drift --out /tmp/report.md',
  description:
    "write incidents/INC-YYYYMMDD-NNN.md from the runbook's template, with migration status, lock holder, recent events, health and drift as evidence",
  options: {
    title: required("--title <text>", "what is wrong, in a few words (one line)"),
    severity: required("--severity <level>", "P1, P2, P3 or P4"),
    out: value("--out <file>", "write the report to this file instead (never overwrites one)"),
    drift: negatable("--drift", "compare the live schema with the expected one (the slow part)"),
  },
  async run({ config, options, out }) {
    const r = await newIncident(await config(), {
      title: options.title,
      severity: options.severity,
      out: options.out,
      drift: options.drift,
      onProgress: (m) => out.progress(m),
    });
    const missing = SECTIONS.filter(([key]) => r.evidence[key].status === "not available");
    if (missing.length > 0) {
      const reasons = new Set(missing.map(([key]) => reasonOf(r.evidence[key])));
      out.warn(
        `evidence not available: ${missing.map(([, name]) => name).join(", ")} (${[...reasons].join("; ")}); the report says so`,
      );
    }
    return {
      json: {
        id: r.id,
        path: r.path,
        severity: r.severity,
        evidence: evidenceJson(r.evidence),
      },
      text: () => shownPath(r.path),
    };
  },
});

/** Add a timestamped row to the open incident's timeline. */
export const incidentLogCommand = defineCommand({
  name: COMMANDS.incidentLog,
  example:
    'confiture incident log "rolled back 004; error rate back to normal"\n' +
    'confiture incident log "root cause: lock held by a batch job" --incident INC-20261125-001',
  description: "add a timestamped row to the Timeline of the newest ongoing incident (or the one named)",
  arguments: { message: "<message>" },
  options: {
    incident: value("--incident <id>", "an incident id (INC-YYYYMMDD-NNN) or a report's path"),
  },
  async run({ config, args, options }) {
    const r = await logIncident(await config(), { message: args.message, incident: options.incident });
    return {
      json: { ...r },
      text: () => `${shownPath(r.path)}: added to the timeline\n${r.row}`,
    };
  },
});

/** Each section's status for the JSON document, with the few facts a script may want. */
function evidenceJson(e: IncidentEvidence): Record<string, unknown> {
  const facts = <T>(p: Piece<T>, pick: (v: T) => Record<string, unknown>) =>
    p.status === "collected"
      ? { status: p.status, ...pick(p.value) }
      : { status: p.status, reason: p.reason };
  return {
    collectedAt: e.collectedAt.toISOString(),
    database: facts(e.database, (d) => ({ name: d.database, serverVersion: d.version })),
    migrations: facts(e.migrations, (m) => ({ counts: m.counts, problems: m.problems })),
    lock: facts(e.lock, (l) => ({ held: l.holder !== null, holder: l.holder })),
    events: facts(e.events, (v) => ({ count: v.events.length })),
    health: facts(e.health, (h) => ({ worst: h.worst })),
    drift: facts(e.drift, (d) => ({ drift: d.drift, counts: d.counts })),
  };
}

function reasonOf(piece: Piece<unknown>): string {
  return piece.status === "collected" ? "" : piece.reason;
}

/** The path relative to the working directory when it is below it, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
