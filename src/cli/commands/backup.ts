/** `confiture backup create [--fast]`, `backup list` and `backup prune`. */
import {
  type BackupListItem,
  backupList,
  COMMANDS,
  createBackup,
  pruneBackups,
  UsageError,
} from "../../index.js";
import { type Paint, table } from "../output.js";
import { defineCommand, flag, value } from "../spec.js";

/** pg_dump into backup.dir, with a metadata file describing the same instant. */
export const backupCreateCommand = defineCommand({
  name: COMMANDS.backupCreate,
  example: "confiture backup create\nconfiture --env production backup create --fast",
  description:
    "pg_dump into backup.dir (format and compression from config) with a metadata file: versions, sha256, migration head, schema fingerprint, row counts",
  options: {
    fast: flag("--fast", "row counts from the planner's estimates instead of count(*)"),
  },
  async run({ config, options, out }) {
    const loaded = await config();
    out.progress(`backing up into ${loaded.backup.dir} ...`);
    const r = await createBackup(loaded, {
      fast: options.fast,
      progressIntervalMs: 1000,
      onProgress: ({ bytes, elapsedMs }) =>
        out.progress(`pg_dump: ${formatBytes(bytes)} written (${formatSeconds(elapsedMs)})`),
    });
    const m = r.metadata;
    const rows = Object.values(m.rowCounts.tables).reduce((a, b) => a + b, 0);
    const tables = Object.keys(m.rowCounts.tables).length;
    return {
      json: {
        path: r.path,
        metaPath: r.metaPath,
        file: m.file,
        sizeBytes: m.sizeBytes,
        durationMs: r.durationMs,
        sha256: m.sha256,
        metadata: m,
        removedLeftovers: r.removedLeftovers,
      },
      text: (p) =>
        [
          `${p.green("Backup written:")} ${r.path}`,
          `  size ${formatBytes(m.sizeBytes)}, took ${formatSeconds(r.durationMs)}, sha256 ${m.sha256.slice(0, 16)}`,
          `  migrations: ${m.migrations.appliedCount} applied, head ${m.migrations.head ?? "(none)"}`,
          `  schema ${m.schema}: fingerprint ${m.fingerprint.slice(0, 16)}, ${tables} table(s), ${rows} row(s)${m.rowCounts.exact ? "" : " (estimated, --fast)"}`,
          `  metadata: ${r.metaPath}`,
          ...r.removedLeftovers.map((n) => `  removed a killed run's partial file: ${n}`),
        ].join("\n"),
    };
  },
});

/** Every backup in backup.dir, newest first. */
export const backupListCommand = defineCommand({
  name: COMMANDS.backupList,
  example: "confiture backup list\nconfiture backup list --format json",
  description:
    "the backups in backup.dir, newest first: time, size, migrations, verified; incomplete ones flagged",
  async run({ config }) {
    const r = await backupList(await config());
    return {
      json: { ...r },
      text: (p) => {
        if (!r.dirExists) return `No backups: ${r.dir} does not exist yet.`;
        if (r.backups.length === 0) return `No backups in ${r.dir}.`;
        const rows = r.backups.map((b) => listRow(p, b));
        const problems = r.backups.length - r.complete;
        return [
          `Backups in ${r.dir}:`,
          "",
          table(["NAME", "STARTED (UTC)", "SIZE", "MIGRATIONS", "VERIFIED", "STATUS"], rows),
          "",
          `${r.complete} complete backup(s)${problems > 0 ? `, ${problems} flagged` : ""}` +
            (r.partials.length > 0
              ? `; ${r.partials.length} partial file(s) being written or left by a killed run`
              : ""),
        ].join("\n");
      },
    };
  },
});

function listRow(p: Paint, b: BackupListItem): string[] {
  const m = b.metadata;
  const v = b.verification;
  return [
    b.name,
    b.startedAt.replace("T", " ").replace(/\.\d+Z$|Z$/, ""),
    b.sizeBytes > 0 ? formatBytes(b.sizeBytes) : "-",
    m ? `${m.migrations.appliedCount} / ${m.migrations.head ?? "-"}` : "-",
    v === null
      ? "no"
      : v.ok
        ? p.green(`yes ${v.verifiedAt.slice(0, 10)}`)
        : p.red(`FAILED ${v.verifiedAt.slice(0, 10)}`),
    b.problem === null ? p.green("ok") : p.red(b.problem),
  ];
}

/** Retention: delete Confiture backups older than N days, never the newest good or verified one. */
export const backupPruneCommand = defineCommand({
  name: COMMANDS.backupPrune,
  example:
    "confiture backup prune --keep-days 30 --dry-run\nconfiture backup prune --keep-days 7 --keep-last 3",
  description:
    "delete Confiture backups older than N days; never the newest complete or verified one, never other files",
  options: {
    keepDays: value("--keep-days <n>", "delete backups older than n days (default: backup.retention_days)"),
    keepLast: value("--keep-last <k>", "always keep the k newest complete backups (default 1)"),
    dryRun: flag("--dry-run", "list what would be deleted; delete nothing"),
  },
  async run({ config, options }) {
    const r = await pruneBackups(await config(), {
      keepDays: wholeNumber(options.keepDays, "--keep-days"),
      keepLast: wholeNumber(options.keepLast, "--keep-last"),
      dryRun: options.dryRun,
    });
    return {
      json: { ...r },
      text: () => {
        const verb = r.dryRun ? "Would delete" : "Deleted";
        const lines = [
          r.deleted.length === 0
            ? `Nothing to delete in ${r.dir}: no backup is older than ${r.keepDays} days outside the kept ones.`
            : `${verb} ${r.deleted.length} backup(s) older than ${r.keepDays} days from ${r.dir} (${formatBytes(r.freedBytes)}):`,
          ...r.deleted.map((d) => `  ${d.name}  (${d.files.join(", ")})`),
        ];
        if (r.kept.length > 0)
          lines.push(`Kept ${r.kept.length}:`, ...r.kept.map((k) => `  ${k.name}  ${k.reason}`));
        if (r.leftAlone.length > 0) {
          lines.push(
            `Left alone ${r.leftAlone.length} (not Confiture backups, never deleted):`,
            ...r.leftAlone.map((x) => `  ${x.name}  ${x.why}`),
          );
        }
        if (r.leftovers.length > 0) {
          lines.push(
            `${r.dryRun ? "Would remove" : "Removed"} ${r.leftovers.length} partial file(s) of killed runs: ${r.leftovers.join(", ")}`,
          );
        }
        return lines.join("\n");
      },
    };
  },
});

function wholeNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()))
    throw new UsageError(`${flag} must be a whole number of 0 or more, not "${text}"`);
  return Number(text.trim());
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
