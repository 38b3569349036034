/**
 * `confiture restore FILE --target-db NAME [--create] [--jobs N] [--force]`: full restore into
 * another database; `confiture restore FILE --table T [--mode replace|append|missing-rows]
 * [--dry-run]`: one table's rows back into the configured database.
 */
import {
  COMMANDS,
  type RestoreResult,
  restoreBackup,
  restoreTable,
  type TableRestoreMode,
  type TableRestoreResult,
  UsageError,
} from "../../index.js";
import type { Paint } from "../output.js";
import { confirmOnTty } from "../prompt.js";
import { defineCommand, flag, value } from "../spec.js";

const MODES = ["replace", "append", "missing-rows"] as const;

export const restoreCommand = defineCommand({
  name: COMMANDS.restore,
  example:
    "confiture restore backups/app_20261125T013000Z.dump --target-db app_restored --create --jobs 4\n" +
    "confiture restore backups/app_20261125T013000Z.dump --table users --mode missing-rows --dry-run",
  description:
    "full restore of a backup into another database (--target-db), or one table's rows back into the configured database (--table)",
  arguments: { file: "<file>" },
  changesDatabase: (o) => !o.dryRun,
  options: {
    targetDb: value(
      "--target-db <name>",
      "full restore into this database on the configured server (must be empty)",
    ),
    create: flag("--create", "create the target database first"),
    jobs: value("--jobs <n>", "pg_restore parallel jobs (default 1)"),
    table: value(
      "--table <table>",
      "restore this table's rows into the configured database ([schema.]table)",
    ),
    mode: value(
      "--mode <mode>",
      "with --table: replace (delete all rows, insert the backup's), append, or missing-rows (only rows whose primary key is absent; the default)",
    ),
    dryRun: flag(
      "--dry-run",
      "with --table: do it in a transaction that is rolled back, and report the counts",
    ),
    force: flag(
      "--force",
      "restore into a non-empty target (on top of it); skip the confirmation on protected environments",
    ),
  },
  async run({ out, config, options, args }) {
    const { targetDb, table } = options;
    if ((targetDb === undefined) === (table === undefined)) {
      throw new UsageError(
        "give exactly one of --target-db NAME (full restore into another database) or --table T (one table into the configured database)",
      );
    }
    if (targetDb !== undefined) {
      if (options.mode !== undefined || options.dryRun)
        throw new UsageError("--mode and --dry-run go with --table, not --target-db");
      const jobs = wholeNumber(options.jobs, "--jobs");
      const cfg = await config();
      out.progress(`restoring ${args.file} into ${targetDb} ...`);
      const r = await restoreBackup(cfg, args.file, {
        targetDb,
        create: options.create,
        jobs,
        force: options.force,
        confirm: confirmOnTty(cfg.environment ?? ""),
        onWarning: (line) => out.warn(`pg_restore: ${line}`),
      });
      return { json: { ...r }, text: (p) => fullText(p, r) };
    }
    if (options.create || options.jobs !== undefined)
      throw new UsageError("--create and --jobs go with --target-db, not --table");
    const mode = options.mode ?? "missing-rows";
    if (!(MODES as readonly string[]).includes(mode))
      throw new UsageError(`--mode must be one of ${MODES.join(", ")} (got "${mode}")`);
    const cfg = await config();
    const r = await restoreTable(cfg, args.file, {
      table: table!,
      mode: mode as TableRestoreMode,
      dryRun: options.dryRun,
      force: options.force,
      confirm: confirmOnTty(cfg.environment ?? ""),
    });
    return { json: { ...r }, text: (p) => tableText(p, r) };
  },
});

function wholeNumber(v: string | undefined, option: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${option} must be a whole number (got "${v}")`);
  return Number(v);
}

function fullText(p: Paint, r: RestoreResult): string {
  const lines = [
    `${p.green("restored")} ${r.file} into ${r.targetDatabase}${r.created ? " (created)" : ""}${
      r.restoredOnTop ? " on top of its existing objects (--force)" : ""
    } in ${(r.durationMs / 1000).toFixed(1)} s`,
  ];
  if (r.backup)
    lines.push(
      `Backup taken ${r.backup.startedAt}: ${r.backup.appliedCount} migration(s) applied, head ${r.backup.head ?? "none"}.`,
    );
  if (!r.history.exists) {
    lines.push("The restored database has no migration history (the backup holds no tracking table).");
  } else {
    lines.push(
      `Restored history: ${r.history.applied} migration(s) applied, head ${r.history.head ?? "none"}.`,
    );
  }
  if (r.history.failed.length > 0)
    lines.push(
      p.red(
        `Recorded as failed in the backup: ${r.history.failed.join(", ")} (see "confiture migrate status").`,
      ),
    );
  if (r.missingFiles.length > 0)
    lines.push(p.yellow(`Applied there but missing from the project: ${r.missingFiles.join(", ")}.`));
  if (r.pending.length === 0) {
    lines.push(
      "migrate up --verify-checksums would apply nothing: the backup is at the project's newest migration.",
    );
  } else {
    lines.push(
      `migrate up --verify-checksums would apply ${r.pending.length} migration(s) newer than the backup:`,
    );
    for (const id of r.pending) lines.push(`  ${id}`);
  }
  lines.push("", "Next:", ...r.nextCommands.map((c) => `  ${c}`));
  return lines.join("\n");
}

function tableText(p: Paint, r: TableRestoreResult): string {
  const c = r.counts;
  const lines = [
    `${r.dryRun ? p.yellow("dry run:") : p.green("restored")} ${r.table} from ${r.file} (mode ${r.mode})`,
    `rows in backup: ${c.inBackup}, inserted: ${c.inserted}, deleted: ${c.deleted}, skipped as present: ${c.skipped}${
      c.sequencesAdvanced.length > 0
        ? `; sequence(s) moved past the restored keys: ${c.sequencesAdvanced.join(", ")}`
        : ""
    }`,
  ];
  for (const note of r.notes) lines.push(p.yellow(note));
  if (r.dryRun) lines.push("Dry run: everything was rolled back; nothing was changed.");
  return lines.join("\n");
}
