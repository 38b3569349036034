/** `confiture migrate status [--verbose]`. */
import {
  COMMANDS,
  type ConfitureConfig,
  describeHolder,
  displayUrl,
  type MigrationStatusEntry,
  migrationStatus,
  TOOL_VERSION,
} from "../../index.js";
import { type Paint, table } from "../output.js";
import { defineCommand, flag } from "../spec.js";

/** Every migration's state; the library's report makes it exit 3 when one needs a person. */
export const migrateStatusCommand = defineCommand({
  name: COMMANDS.migrateStatus,
  example: "confiture migrate status --verbose",
  description: "each migration: applied, pending, failed, baseline, missing file, checksum mismatch",
  options: {
    verbose: flag("--verbose", "add checksums, durations, applied_by, errors, lock holder, server version"),
  },
  async run({ config, options }) {
    const verbose = options.verbose;
    const loaded = await config();
    const r = await migrationStatus(loaded, { verbose });
    // `--verbose > incident_report.txt` (runbook scenario 3) is a record: when, by what, of what.
    const record = verbose ? recordHeader(loaded) : undefined;
    return {
      json: record ? { ...r, ...record.json } : { ...r },
      report: r.report,
      text: (p) => {
        const head = `Database ${r.database}, tracking table ${r.schema}.${r.trackingTable}${
          r.trackingTableExists ? "" : " (does not exist yet)"
        }`;
        const headers = verbose
          ? ["MIGRATION", "STATE", "APPLIED AT", "MS", "APPLIED BY", "CHECKSUM", "ERROR"]
          : ["MIGRATION", "STATE", "APPLIED AT"];
        const rows = r.migrations.map((m) => row(p, m, verbose));
        const summary = Object.entries(r.counts)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(", ");
        const lines = [
          ...(record ? [...record.lines, ""] : []),
          head,
          "",
          rows.length ? table(headers, rows) : "(no migrations)",
          "",
          summary || "0 migrations",
        ];
        // Lost history shows in no row of the table: said in full, as a sentence.
        const lost = r.untrackedObjects !== null ? r.report.failure?.message : undefined;
        if (lost !== undefined) lines.push("", `${lost.charAt(0).toUpperCase()}${lost.slice(1)}.`);
        if (verbose) {
          lines.push(`Server: PostgreSQL ${r.serverVersion}`);
          lines.push(`Lock: ${r.lockHolder ? `held by ${describeHolder(r.lockHolder)}` : "free"}`);
        }
        return lines.join("\n");
      },
    };
  },
});

/** The first lines of a verbose report: the time (UTC), the tool's version, environment and database. */
function recordHeader(config: ConfitureConfig): { lines: string[]; json: Record<string, unknown> } {
  const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const environment = config.environment ?? "default";
  const url = config.database.url;
  const database = url
    ? `${displayUrl(url)}${config.database.source ? ` (from ${config.database.source})` : ""}`
    : "-";
  return {
    lines: [
      `Migration status report at ${at.replace("T", " ").replace("Z", " UTC")} by Confiture ${TOOL_VERSION}`,
      `Environment ${environment}; database ${database}`,
    ],
    json: { reportedAt: at, toolVersion: TOOL_VERSION, environment },
  };
}

function row(p: Paint, m: MigrationStatusEntry, verbose: boolean): string[] {
  const base = [m.id, paintState(p, m.state), m.appliedAt ?? ""];
  if (!verbose) return base;
  const sum =
    m.state === "checksum mismatch"
      ? `file ${m.checksum?.slice(0, 12) ?? "-"} recorded ${m.recordedChecksum?.slice(0, 12) ?? "none"}`
      : (m.checksum ?? m.recordedChecksum ?? "").slice(0, 12);
  return [
    ...base,
    m.executionMs?.toString() ?? "",
    m.appliedBy ?? "",
    sum,
    (m.error ?? "").replace(/\s+/g, " "),
  ];
}

function paintState(p: Paint, state: MigrationStatusEntry["state"]): string {
  if (state === "applied") return p.green(state);
  if (state === "pending") return p.yellow(state);
  if (state === "baseline" || state === "reconstructed") return p.cyan(state);
  return p.red(state);
}
