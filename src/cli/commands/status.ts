/** `confiture migrate status [--verbose]`. */
import { COMMANDS, describeHolder, type MigrationStatusEntry, migrationStatus } from "../../index.js";
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
    const r = await migrationStatus(await config(), { verbose });
    return {
      json: { ...r },
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
