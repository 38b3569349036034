/**
 * The newest backup of a database in the backup directory, as `backup create` writes them: a
 * dump `<database>_<YYYYMMDDTHHMMSSZ>.dump` with valid metadata beside it (`<dump>.meta.json`,
 * read through the backup area's `listBackups`), its age from the metadata's `startedAt`. Only
 * complete Confiture backups of this database count. Anything that looks like one but is not
 * (a dump without metadata, metadata without its dump, a dump whose size changed, a start time
 * in the future) is listed as unusable instead, so the check can say why it was not counted.
 */
import { stat } from "node:fs/promises";
import { type BackupEntry, backupName, listBackups, parseBackupName } from "../backup/index.js";

/** One backup found in the directory. */
export interface BackupFile {
  /** The dump's name, e.g. `app_20261125T013000Z.dump`. */
  name: string;
  path: string;
  /** When it was taken: its metadata's `startedAt`. */
  takenAt: Date;
}

/** An entry that looks like a backup of this database but cannot count as one. */
export interface UnusableBackup {
  name: string;
  takenAt: Date;
  /** `dated in the future`, or what is wrong with it (no metadata, incomplete, ...). */
  why: string;
}

/** What the backup directory holds for one database. */
export interface BackupListing {
  dir: string;
  /** The database whose backups are looked for. */
  database: string;
  /** False when the directory does not exist (or is not a directory). */
  dirExists: boolean;
  /** How many complete backups of this database there are. */
  count: number;
  newest: BackupFile | null;
  /** Entries that look like this database's backups but are not usable (newest first). */
  unusable: UnusableBackup[];
}

/** The name pattern, as messages show it: `app_<YYYYMMDDTHHMMSSZ>.dump`. */
export function backupPattern(database: string): string {
  return `${database}_<YYYYMMDDTHHMMSSZ>.dump`;
}

/**
 * The newest complete backup of `database` in `dir`, as of `now`. Never throws: an unreadable
 * directory lists nothing.
 * @example (await findBackups("/srv/app/backups", "app", new Date())).newest?.takenAt
 */
export async function findBackups(dir: string, database: string, now: Date): Promise<BackupListing> {
  const none = { dir, database, dirExists: false, count: 0, newest: null, unusable: [] };
  let entries: BackupEntry[];
  try {
    if (!(await stat(dir)).isDirectory()) return none;
    entries = await listBackups(dir);
  } catch {
    return none;
  }
  let count = 0;
  let newest: BackupFile | null = null;
  const unusable: UnusableBackup[] = [];
  for (const e of entries) {
    if (!isOf(e, database)) continue;
    const takenAt = new Date(e.startedAt);
    // A clock that ran ahead, or metadata written by hand: it says nothing about the last backup.
    const why = e.problem ?? (takenAt > now ? "dated in the future" : undefined);
    if (why !== undefined) {
      unusable.push({ name: e.name, takenAt, why });
      continue;
    }
    count++;
    if (newest === null || takenAt > newest.takenAt) newest = { name: e.name, path: e.path, takenAt };
  }
  unusable.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  return { dir, database, dirExists: true, count, newest, unusable };
}

/** This database's entry: by its metadata, or (without valid metadata) by its name. */
function isOf(e: BackupEntry, database: string): boolean {
  if (e.metadata !== null) return e.metadata.database === database;
  const named = parseBackupName(e.name);
  return named !== null && e.name === backupName(database, named.startedAt);
}
