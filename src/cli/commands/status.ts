/** `confiture migrate status [--verbose]`. */
import type { Command } from "commander";
import { describeHolder, type MigrationStatusEntry, migrationStatus } from "../../index.js";
import { EXIT } from "../exit-codes.js";
import type { Runner } from "../main.js";
import { type Paint, table } from "../output.js";

function paintState(p: Paint, state: MigrationStatusEntry["state"]): string {
  if (state === "applied") return p.green(state);
  if (state === "pending") return p.yellow(state);
  if (state === "baseline" || state === "reconstructed") return p.cyan(state);
  return p.red(state);
}

export function registerStatusCommand(migrate: Command, run: Runner): void {
  migrate
    .command("status")
    .description("each migration: applied, pending, failed, baseline, missing file, checksum mismatch")
    .option("--verbose", "add checksums, durations, applied_by, errors, lock holder, server version")
    .action(
      run("migrate status", async ({ out, config }, o) => {
        const verbose = (o as { verbose?: boolean }).verbose === true;
        const r = await migrationStatus(await config(), { verbose });
        const c = r.counts;
        const problem = r.problems
          ? {
              code:
                c.failed > 0
                  ? "FAILED_MIGRATION_PRESENT"
                  : c["checksum mismatch"] > 0
                    ? "CHECKSUM_MISMATCH"
                    : "MIGRATION_FILE_MISSING",
              message: `${c.failed} failed, ${c["checksum mismatch"]} checksum mismatch(es), ${c["missing file"]} missing file(s)`,
            }
          : undefined;
        out.result(
          "migrate status",
          { ...r },
          () => {
            const p = out.paint;
            const head = `Database ${r.database}, tracking table ${r.schema}.${r.trackingTable}${
              r.trackingTableExists ? "" : " (does not exist yet)"
            }`;
            const headers = verbose
              ? ["MIGRATION", "STATE", "APPLIED AT", "MS", "APPLIED BY", "CHECKSUM", "ERROR"]
              : ["MIGRATION", "STATE", "APPLIED AT"];
            const rows = r.migrations.map((m) => {
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
            });
            const summary = Object.entries(c)
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
            if (verbose) {
              lines.push(`Server: PostgreSQL ${r.serverVersion}`);
              lines.push(`Lock: ${r.lockHolder ? `held by ${describeHolder(r.lockHolder)}` : "free"}`);
            }
            return lines.join("\n");
          },
          problem,
        );
        return problem ? EXIT.check : EXIT.ok;
      }),
    );
}
