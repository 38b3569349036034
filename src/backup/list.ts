/**
 * `backup list`: every backup in `backup.dir`, newest first, with what its metadata says and
 * whether `backup verify` restored it successfully; incomplete ones (metadata without dump, a
 * dump that changed size) and dumps without metadata are flagged, never hidden.
 */
import { readdir } from "node:fs/promises";
import type { ConfitureConfig } from "../config/index.js";
import {
  type BackupEntry,
  type BackupVerification,
  listBackups,
  readBackupVerification,
} from "./metadata.js";
import { isPartialName } from "./naming.js";

/** One listed backup and its latest verification. */
export interface BackupListItem extends BackupEntry {
  /** `<dump>.verified.json`, or null when it was never verified. */
  verification: BackupVerification | null;
}

/** What `backup list` found. */
export interface BackupListResult {
  dir: string;
  /** False when `backup.dir` does not exist yet (no backup was ever made). */
  dirExists: boolean;
  backups: BackupListItem[];
  /** How many are complete Confiture backups (`problem === null`). */
  complete: number;
  /** Partial files of a backup being written now, or of a killed one (`.<name>.partial`). */
  partials: string[];
}

/**
 * The backups in `config.backup.dir`. Reads files only; no database needed.
 *
 * @example const { backups } = await backupList(await loadConfig({}));
 */
export async function backupList(config: ConfitureConfig): Promise<BackupListResult> {
  const dir = config.backup.dir;
  let names: string[] | null;
  try {
    names = await readdir(dir);
  } catch {
    names = null;
  }
  const entries = names === null ? [] : await listBackups(dir);
  const backups = await Promise.all(
    entries.map(async (e) => ({
      ...e,
      verification: e.metadata ? await readBackupVerification(e.path) : null,
    })),
  );
  return {
    dir,
    dirExists: names !== null,
    backups,
    complete: backups.filter((b) => b.problem === null).length,
    partials: (names ?? []).filter(isPartialName).sort(),
  };
}
