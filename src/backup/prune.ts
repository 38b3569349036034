/**
 * `backup prune`: retention. Deletes Confiture backups (dump, metadata, verification record)
 * whose metadata says they started more than `keepDays` ago, but never the newest complete
 * backup, never the newest one `backup verify` restored successfully, never the `keepLast`
 * newest, and never anything that is not a Confiture backup: a dump must have a name of the
 * form `<database>_<YYYYMMDDTHHMMSSZ>.dump` and valid metadata naming it. Anything else is
 * left alone (and reported when it looks like a backup). Files only: no database is touched.
 */
import { rm } from "node:fs/promises";
import { basename } from "node:path";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { removeStaleLeftovers, staleLeftovers } from "./backup-dir.js";
import { type BackupListItem, backupList } from "./list.js";
import { diskSize, verifiedPathOf } from "./metadata.js";
import { parseBackupName } from "./naming.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Retention settings for one run. */
export interface PruneOptions {
  /** Delete backups older than this many days. Default `backup.retention_days`. */
  keepDays?: number | undefined;
  /** Always keep this many newest complete backups. Default 1. */
  keepLast?: number | undefined;
  /** Say what would be deleted; delete nothing. */
  dryRun?: boolean | undefined;
  /** "Now" for the age computation; default the current time. */
  now?: Date | undefined;
}

/** A backup that was (or, in a dry run, would be) deleted. */
export interface PrunedBackup {
  name: string;
  startedAt: string;
  sizeBytes: number;
  /** The file names removed: dump, metadata, verification record (those that existed). */
  files: string[];
}

/** What `backup prune` did. */
export interface PruneResult {
  dir: string;
  keepDays: number;
  keepLast: number;
  dryRun: boolean;
  deleted: PrunedBackup[];
  /** Confiture backups kept, and why (`newer than 30 days`, `newest verified backup`, ...). */
  kept: Array<{ name: string; reason: string }>;
  /** Things that look like backups but are not Confiture's (or are damaged): never deleted. */
  leftAlone: Array<{ name: string; why: string }>;
  /** Killed runs' partial files (older than an hour) removed (or, in a dry run, to remove). */
  leftovers: string[];
  freedBytes: number;
}

/**
 * Apply retention to `config.backup.dir`.
 * Throws UsageError (USAGE) for a negative or fractional `keepDays` / `keepLast`.
 *
 * @example const { deleted } = await pruneBackups(config, { keepDays: 30, dryRun: true });
 */
export async function pruneBackups(config: ConfitureConfig, opts: PruneOptions = {}): Promise<PruneResult> {
  const keepDays = count(opts.keepDays ?? config.backup.retentionDays, "--keep-days");
  const keepLast = count(opts.keepLast ?? 1, "--keep-last");
  const dryRun = opts.dryRun === true;
  const now = opts.now ?? new Date();
  const listed = await backupList(config);
  const ours = listed.backups.filter(isConfitureBackup);
  const good = ours.filter((b) => b.problem === null);
  const protectedWhy = new Map<string, string>();
  const protect = (b: BackupListItem | undefined, why: string) => {
    if (b !== undefined && !protectedWhy.has(b.name)) protectedWhy.set(b.name, why);
  };
  protect(good[0], "newest complete backup");
  protect(
    good.find((b) => b.verification?.ok === true),
    "newest verified backup",
  );
  for (const b of good.slice(0, keepLast)) protect(b, `one of the ${keepLast} newest (--keep-last)`);

  const cutoff = now.getTime() - keepDays * DAY_MS;
  const deleted: PrunedBackup[] = [];
  const kept: PruneResult["kept"] = [];
  for (const b of ours) {
    const why = protectedWhy.get(b.name);
    if (why !== undefined) kept.push({ name: b.name, reason: why });
    else if (Date.parse(b.startedAt) >= cutoff)
      kept.push({ name: b.name, reason: `newer than ${keepDays} days` });
    else deleted.push(await remove(b, dryRun));
  }
  const leftAlone = listed.backups
    .filter((b) => !isConfitureBackup(b))
    .map((b) => ({
      name: b.name,
      why:
        b.problem ??
        "its name does not fit <database>_<YYYYMMDDTHHMMSSZ>.dump, so it was not made by backup create",
    }));
  const leftovers = dryRun
    ? await staleLeftovers(listed.dir, now.getTime())
    : await removeStaleLeftovers(listed.dir, now.getTime());
  return {
    dir: listed.dir,
    keepDays,
    keepLast,
    dryRun,
    deleted,
    kept,
    leftAlone,
    leftovers,
    freedBytes: deleted.reduce((sum, d) => sum + d.sizeBytes, 0),
  };
}

/** A Confiture backup: named like one, with valid metadata naming it (a dump may be missing). */
function isConfitureBackup(b: BackupListItem): boolean {
  return b.metadata !== null && b.metadata.file === b.name && parseBackupName(b.name) !== null;
}

/** Delete in an order that never leaves a dump without metadata: record, dump, then metadata. */
async function remove(b: BackupListItem, dryRun: boolean): Promise<PrunedBackup> {
  const verified = verifiedPathOf(b.path);
  const candidates = [verified, b.path, b.metaPath];
  const files: string[] = [];
  for (const path of candidates) {
    if ((await diskSize(path)) === null) continue;
    files.push(basename(path));
    if (!dryRun) await rm(path, { recursive: true, force: true });
  }
  return { name: b.name, startedAt: b.startedAt, sizeBytes: b.sizeBytes, files };
}

function count(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(`${flag} must be a whole number of 0 or more, not ${value}`);
  }
  return value;
}
