/** `confiture migrate drift-detect` and `confiture migrate sync-history`. */
import {
  COMMANDS,
  type DriftResult,
  detectDrift,
  type SchemaDifference,
  type SyncVerdict,
  syncHistory,
  UsageError,
} from "../../index.js";
import { type Paint, table } from "../output.js";
import { defineCommand, flag, value } from "../spec.js";

const scratchUrlOption = value(
  "--scratch-url <url>",
  "an empty database to build the expected schema in (default: a scratch database created and dropped on the same server)",
);

/** Live schema against the schema the applied migrations (or db/schema/) produce. */
export const migrateDriftDetectCommand = defineCommand({
  name: COMMANDS.migrateDriftDetect,
  example: "confiture migrate drift-detect\nconfiture migrate drift-detect --against schema --format json",
  description:
    "compare the live schema with the one the applied migrations (or db/schema/) produce; exit 3 on drift",
  options: {
    against: value(
      "--against <source>",
      "what the expected schema is built from: migrations (default) or schema",
    ),
    scratchUrl: scratchUrlOption,
  },
  async run({ config, options, out }) {
    const against = options.against ?? "migrations";
    if (against !== "migrations" && against !== "schema")
      throw new UsageError(`--against must be "migrations" or "schema", not "${against}"`);
    const r = await detectDrift(await config(), {
      against,
      scratchUrl: options.scratchUrl,
      onProgress: (m) => out.progress(m),
    });
    for (const n of r.notes) out.note(n);
    return {
      json: { ...r },
      report: r.report,
      text: (p) => driftText(p, r),
    };
  },
});

function driftText(p: Paint, r: DriftResult): string {
  const head = `Schema ${r.schema} in ${r.database} against ${r.expectedSource}:`;
  if (!r.drift) return `${head} no drift (not compared: ${r.notCompared.join(", ")}).`;
  const lines = [head, "(changed: expected -> live)", "", ...groupedDifferences(p, r.differences), ""];
  lines.push(
    `${r.differences.length} difference(s): ${r.counts.missing} missing, ${r.counts.extra} extra, ${r.counts.changed} changed`,
  );
  return lines.join("\n");
}

/** Differences under a header per table (`table users`), objects outside tables last. */
export function groupedDifferences(p: Paint, differences: SchemaDifference[]): string[] {
  const lines: string[] = [];
  let group: string | null | undefined;
  for (const d of differences) {
    if (d.table !== group) {
      group = d.table;
      lines.push(group === null ? "other objects" : `table ${group}`);
    }
    const kind =
      d.kind === "missing" ? p.red("missing") : d.kind === "extra" ? p.yellow("extra") : p.cyan("changed");
    const flat = (v: string | null) => (v === null ? "none" : v.replace(/\s+/g, " ").trim());
    const what =
      d.kind === "missing"
        ? `expected: ${flat(d.expected)}`
        : d.kind === "extra"
          ? `live: ${flat(d.actual)}`
          : `${d.property ?? "definition"}: ${flat(d.expected)} -> ${flat(d.actual)}`;
    lines.push(`  ${kind}  ${d.object}  ${p.dim(what)}`);
  }
  return lines;
}

/** Rebuild a lost history from what the live schema contains. */
export const migrateSyncHistoryCommand = defineCommand({
  name: COMMANDS.migrateSyncHistory,
  example: "confiture init --force\nconfiture migrate sync-history --dry-run\nconfiture migrate sync-history",
  description:
    "rebuild a lost (missing or empty) history: record the migrations the live schema already contains as reconstructed",
  options: {
    dryRun: flag("--dry-run", "find and report, record nothing"),
    scratchUrl: scratchUrlOption,
  },
  changesDatabase: (o) => !o.dryRun,
  async run({ config, options, out }) {
    const r = await syncHistory(await config(), {
      dryRun: options.dryRun,
      scratchUrl: options.scratchUrl,
      onProgress: (m) => out.progress(m),
    });
    for (const n of r.notes) out.note(n);
    return {
      json: { ...r },
      report: r.report,
      text: (p) => {
        const rows = r.migrations.map((m) => [m.id, paintVerdict(p, m.verdict)]);
        const lines = [
          `Schema ${r.schema} in ${r.database}, compared migration by migration:`,
          "",
          rows.length > 0
            ? table(
                ["MIGRATION", r.match === "closest" ? "IN THE CLOSEST MATCH" : "IN THE LIVE SCHEMA"],
                rows,
              )
            : "(no migrations)",
          "",
        ];
        if (r.match === "closest") {
          lines.push(
            `No run of migrations matches the live schema exactly. Closest: ${r.through === null ? "none of them applied" : `through ${r.through}`}, with these differences:`,
            ...groupedDifferences(p, r.differences),
            "",
            'Nothing was recorded: resolve the drift, or record what you know with "confiture migrate baseline --through ID".',
          );
        } else if (r.match === "empty") {
          lines.push("The live schema holds none of the migrations' objects: nothing to record.");
        } else if (r.dryRun) {
          const n = r.migrations.filter((m) => m.verdict === "present" || m.verdict === "implied").length;
          lines.push(
            `Dry run: would record ${n} migration(s) through ${r.through} as reconstructed. Nothing was changed.`,
          );
        } else {
          lines.push(
            `Recorded ${r.recorded.length} migration(s) through ${r.through} as reconstructed. Next: confiture migrate status, confiture migrate drift-detect.`,
          );
        }
        const unresolved = r.match === "exact" ? r.report.failure?.message : undefined;
        if (unresolved !== undefined)
          lines.push(`${unresolved.charAt(0).toUpperCase()}${unresolved.slice(1)}.`);
        return lines.join("\n");
      },
    };
  },
});

function paintVerdict(p: Paint, v: SyncVerdict): string {
  const words: Record<SyncVerdict, string> = {
    present: "present",
    implied: "present (implied: changes no schema object; a later migration is present)",
    unconfirmed: "unconfirmed (changes no schema object; left pending)",
    absent: "absent (pending)",
  };
  if (v === "present" || v === "implied") return p.green(words[v]);
  if (v === "unconfirmed") return p.yellow(words[v]);
  return p.dim(words[v]);
}
