/**
 * The newest backup in the backup directory, by file name alone: `backup create` names its
 * dumps `<database>_<YYYYMMDDTHHMMSSZ>.dump` (a file, or a directory for the directory format)
 * with a metadata file beside it. Until backups are built, health recognises exactly that name;
 * the backup area can replace this module with one that reads the metadata.
 */
import { type Dirent, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** One backup found in the directory. */
export interface BackupFile {
  /** The entry's name, e.g. `app_20261125T013000Z.dump`. */
  name: string;
  path: string;
  /** When it was taken, from the name's UTC timestamp. */
  takenAt: Date;
}

/** What the backup directory holds for one database. */
export interface BackupListing {
  dir: string;
  /** False when the directory does not exist (or is not a directory). */
  dirExists: boolean;
  /** How many entries fit the name pattern. */
  count: number;
  newest: BackupFile | null;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/**
 * The time in a backup's name, or undefined when `name` is not `<database>_<stamp>.dump` for
 * this database or the stamp is not a real UTC time.
 * @example backupTime("app_20261125T013000Z.dump", "app") // 2026-11-25T01:30:00.000Z
 */
export function backupTime(name: string, database: string): Date | undefined {
  const prefix = `${database}_`;
  if (!name.startsWith(prefix)) return undefined;
  const m = STAMP.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 2026-02-30 over to March: a stamp that does not read back is not a time.
  const real =
    at.getUTCFullYear() === y &&
    at.getUTCMonth() === mo - 1 &&
    at.getUTCDate() === d &&
    at.getUTCHours() === h &&
    at.getUTCMinutes() === mi &&
    at.getUTCSeconds() === s;
  return real ? at : undefined;
}

/**
 * The newest backup of `database` in `dir` (synchronous: it runs while a query is on the server).
 * @example findBackups("/srv/app/backups", "app").newest?.takenAt
 */
export function findBackups(dir: string, database: string): BackupListing {
  let entries: Dirent[];
  try {
    if (!statSync(dir).isDirectory()) return { dir, dirExists: false, count: 0, newest: null };
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return { dir, dirExists: false, count: 0, newest: null };
  }
  let count = 0;
  let newest: BackupFile | null = null;
  for (const e of entries) {
    const takenAt = backupTime(e.name, database);
    if (takenAt === undefined || !isBackupEntry(dir, e)) continue;
    count++;
    if (newest === null || takenAt > newest.takenAt)
      newest = { name: e.name, path: join(dir, e.name), takenAt };
  }
  return { dir, dirExists: true, count, newest };
}

/** A dump is a file (custom format) or a directory (directory format); a symlink counts for its target. */
function isBackupEntry(dir: string, e: Dirent): boolean {
  if (e.isFile() || e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    const st = statSync(join(dir, e.name));
    return st.isFile() || st.isDirectory();
  } catch {
    return false;
  }
}
