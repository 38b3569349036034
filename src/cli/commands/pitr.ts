/** `confiture pitr status`, `confiture pitr base-backup`, `confiture pitr recover`. */
import {
  COMMANDS,
  pitrBaseBackup,
  pitrRecover,
  pitrStatus,
  RECOVERY_TARGET_ACTIONS,
  type RecoveryTargetAction,
  UsageError,
} from "../../index.js";
import type { Paint } from "../output.js";
import { defineCommand, flag, required, value } from "../spec.js";

/** Archiving settings, pg_stat_archiver and the RPO exposure; exit 3 when over objectives.rpo. */
export const pitrStatusCommand = defineCommand({
  name: COMMANDS.pitrStatus,
  example: "confiture pitr status\nconfiture pitr status --format json",
  description:
    "WAL archiving for point-in-time recovery: wal_level, archive_mode, archive_command, pg_stat_archiver, and the RPO exposure against objectives.rpo (exit 3 when over it)",
  async run({ config }) {
    const r = await pitrStatus(await config());
    return {
      json: { ...r },
      report: r.report,
      text: (p) => {
        const a = r.archiver;
        const hidden = "(not visible to this role: needs pg_read_all_settings or superuser)";
        const rows: [string, string][] = [
          ["database", `${r.database} (PostgreSQL ${r.serverVersion})`],
          ["wal_level", r.walLevel],
          ["archive_mode", r.archiveMode],
          ["archive_command", r.archiveCommand === null ? hidden : r.archiveCommand || "(empty)"],
        ];
        if (r.archiveLibrary !== null || r.settingsHidden)
          rows.push(["archive_library", r.archiveLibrary === null ? hidden : r.archiveLibrary || "(empty)"]);
        rows.push(
          [
            "archived",
            `${a.archivedCount}, last ${a.lastArchivedWal ?? "-"} at ${a.lastArchivedTime ?? "-"}`,
          ],
          ["failed", `${a.failedCount}, last ${a.lastFailedWal ?? "-"} at ${a.lastFailedTime ?? "-"}`],
          ["stats reset", a.statsReset ?? "-"],
          ["rpo exposure", r.exposureMs === null ? "unknown" : `${Math.round(r.exposureMs / 1000)} s`],
          ["objectives.rpo", r.rpoMs === null ? "not set" : `${Math.round(r.rpoMs / 1000)} s`],
        );
        const width = Math.max(...rows.map(([k]) => k.length));
        return [
          ...rows.map(([k, v]) => `${p.dim(k.padEnd(width))}  ${v}`),
          "",
          `${level(p, r.level)}  ${r.summary}`,
        ].join("\n");
      },
    };
  },
});

function level(p: Paint, l: "OK" | "WARN" | "CRIT"): string {
  return l === "OK" ? p.green(l) : l === "WARN" ? p.yellow(l) : p.red(l);
}

/** pg_basebackup, tar format with the WAL it needs. */
export const pitrBaseBackupCommand = defineCommand({
  name: COMMANDS.pitrBaseBackup,
  example: "confiture pitr base-backup --dir /backups/base/2024-01-15 --compress",
  description:
    "take a base backup with pg_basebackup (tar format, WAL streamed alongside, progress) into a new or empty directory; needs a role with REPLICATION",
  options: {
    dir: required("--dir <dir>", "where to write base.tar and pg_wal.tar (created; must be empty)"),
    compress: flag("--compress", "gzip the tar files (-z)"),
    fastCheckpoint: flag("--fast-checkpoint", "start with an immediate checkpoint instead of a spread one"),
  },
  async run({ config, options, out }) {
    const r = await pitrBaseBackup(await config(), {
      dir: options.dir,
      compress: options.compress,
      fastCheckpoint: options.fastCheckpoint,
      onProgress: (line) => out.progress(line),
    });
    return {
      json: { ...r },
      text: (p) =>
        [
          `Base backup of ${r.database} (PostgreSQL ${r.serverVersion}) in ${r.dir}:`,
          ...r.files.map((f) => `  ${f.name}  ${f.bytes} bytes`),
          "",
          p.bold("Next, to recover from it:"),
          ...r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`),
        ].join("\n"),
    };
  },
});

/** Write the recovery settings into a stopped data directory; no database connection. */
export const pitrRecoverCommand = defineCommand({
  name: COMMANDS.pitrRecover,
  example:
    "confiture pitr recover --pgdata /var/lib/postgresql/16/main --target-time 2024-01-15T14:30:00Z --restore-command 'cp /mnt/archive/%f %p' --target-action promote\n" +
    "confiture pitr recover --pgdata /var/lib/postgresql/16/main --before-migration 20240115_drop_orders --restore-command 'cp /mnt/archive/%f %p'",
  description:
    "prepare a stopped data directory for point-in-time recovery (recovery.signal + postgresql.auto.conf on 12+, recovery.conf before) and say what to run next",
  options: {
    pgdata: required("--pgdata <dir>", "the stopped server's data directory (restored from a base backup)"),
    targetTime: value("--target-time <time>", "recover up to this time, ISO 8601 with an offset or Z"),
    beforeMigration: value(
      "--before-migration <id>",
      "recover to the restore point migrate up made before this migration",
    ),
    restoreCommand: required(
      "--restore-command <cmd>",
      "fetches an archived WAL file: %f its name, %p where to put it",
    ),
    targetAction: value(
      "--target-action <action>",
      "at the target: pause (default: look, then pg_wal_replay_resume()), promote or shutdown",
    ),
  },
  async run({ options }) {
    const action = options.targetAction;
    if (action !== undefined && !(RECOVERY_TARGET_ACTIONS as readonly string[]).includes(action))
      throw new UsageError(
        `--target-action must be one of ${RECOVERY_TARGET_ACTIONS.join(", ")}, not ${action}`,
      );
    const r = await pitrRecover({
      pgdata: options.pgdata,
      targetTime: options.targetTime,
      beforeMigration: options.beforeMigration,
      restoreCommand: options.restoreCommand,
      targetAction: action as RecoveryTargetAction | undefined,
    });
    return {
      json: { ...r },
      text: (p) =>
        [
          `Prepared ${r.pgdata} (PostgreSQL ${r.serverMajor}) for point-in-time recovery with ${r.method}:`,
          ...Object.entries(r.settings).map(([k, v]) => `  ${k} = '${v}'`),
          `Written: ${r.files.join(", ")}`,
          ...r.disabled.map((l) => p.yellow(`Commented out an earlier setting that would conflict: ${l}`)),
          ...r.warnings.map((w) => p.yellow(`Warning: ${w}`)),
          "",
          p.bold("Next:"),
          ...r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`),
        ].join("\n"),
    };
  },
});
