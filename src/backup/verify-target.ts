/**
 * Which dump `backup verify` tests: a path, a name in `backup.dir`, or `--latest`.
 */
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../errors.js";
import {
  type BackupMetadata,
  listBackups,
  METADATA_SUFFIX,
  metadataPathOf,
  readBackupMetadata,
} from "./metadata.js";

/** The dump under test and what its metadata says. */
export interface VerifyTarget {
  /** Absolute path of the dump (a file, or a directory-format dump's directory). */
  path: string;
  metadata: BackupMetadata;
}

/**
 * The dump `file` names (as given, relative to the working directory, else a name in
 * `backupDir`; its `.meta.json` is accepted too), or with `latest` the newest backup in
 * `backupDir` that has both its metadata and its dump. Throws UsageError USAGE for both or
 * neither, BACKUP_NOT_FOUND when there is no such dump; BackupMetadataError (exit 3) when its
 * metadata is missing or invalid: a dump without metadata cannot be verified.
 * @example const { path, metadata } = await findVerifyTarget("backups", { latest: true });
 */
export async function findVerifyTarget(
  backupDir: string,
  opts: { file?: string | undefined; latest?: boolean | undefined },
): Promise<VerifyTarget> {
  if (opts.file !== undefined && opts.latest) {
    throw new UsageError(`give either a dump or --latest, not both (got ${opts.file} and --latest)`);
  }
  if (opts.latest) return latest(backupDir);
  if (opts.file === undefined || opts.file.trim() === "") {
    throw new UsageError(
      "give the dump to verify (e.g. confiture backup verify backups/app_20261125T013000Z.dump) or --latest",
    );
  }
  const file = opts.file.endsWith(METADATA_SUFFIX) ? opts.file.slice(0, -METADATA_SUFFIX.length) : opts.file;
  const candidates = [resolve(file)];
  if (!isAbsolute(file)) candidates.push(resolve(backupDir, file));
  for (const path of new Set(candidates)) {
    if ((await stat(path).catch(() => undefined)) === undefined) continue;
    return { path, metadata: await readBackupMetadata(metadataPathOf(path)) };
  }
  const withMeta = await stat(metadataPathOf(candidates.at(-1)!)).catch(() => undefined);
  throw new UsageError(
    `backup ${file} not found (looked at ${[...new Set(candidates)].join(" and ")})` +
      (withMeta ? "; its metadata is there but the dump is gone (an interrupted or deleted backup)" : "") +
      '; run "confiture backup list" to see the backups',
    "BACKUP_NOT_FOUND",
  );
}

/**
 * The newest entry with metadata and a dump. A dump whose size or checksum no longer matches is
 * still taken: finding that out is what the restore test is for, and skipping it would verify an
 * older backup while the one that would be restored is broken.
 */
async function latest(backupDir: string): Promise<VerifyTarget> {
  for (const entry of await listBackups(backupDir)) {
    if (entry.metadata === null) continue;
    if ((await stat(entry.path).catch(() => undefined)) === undefined) continue;
    return { path: resolve(entry.path), metadata: entry.metadata };
  }
  throw new UsageError(
    `--latest found no backup in ${backupDir} (a dump with its .meta.json); make one with "confiture backup create"`,
    "BACKUP_NOT_FOUND",
  );
}
