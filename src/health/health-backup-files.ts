/**
 * The newest backup in the backup directory, by file name: a dump named
 * `<database>_<YYYYMMDDTHHMMSSZ>.dump` (a file, or a directory for pg_dump's directory format),
 * the time in the name being when it was taken, in UTC. Until Confiture takes backups itself,
 * health recognises exactly that name; the backup area can replace this module with one that
 * reads backup metadata. A name dated in the future, an empty file, or a directory without
 * pg_dump's `toc.dat` is not counted as a backup: it is listed as unusable instead.
 */
import { type Dirent, readdirSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";

/** One backup found in the directory. */
export interface BackupFile {
  /** The entry's name, e.g. `app_20261125T013000Z.dump`. */
  name: string;
  path: string;
  /** When it was taken, from the name's UTC timestamp. */
  takenAt: Date;
}

/** An entry named like a backup that cannot count as one, e.g. `{ name, why: "0 bytes" }`. */
export interface UnusableBackup {
  name: string;
  takenAt: Date;
  /** `dated in the future`, `0 bytes`, or why a directory is not a dump. */
  why: string;
}

/** What the backup directory holds for one database. */
export interface BackupListing {
  dir: string;
  /** The database whose backups are looked for. */
  database: string;
  /** False when the directory does not exist (or is not a directory). */
  dirExists: boolean;
  /** How many usable backups fit the name pattern. */
  count: number;
  newest: BackupFile | null;
  /** Entries named like a backup that are not one (newest first). */
  unusable: UnusableBackup[];
}

/** The name pattern, as messages show it: `app_<YYYYMMDDTHHMMSSZ>.dump`. */
export function backupPattern(database: string): string {
  return `${database}_<YYYYMMDDTHHMMSSZ>.dump`;
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
 * The newest usable backup of `database` in `dir`, as of `now` (synchronous: it runs while a
 * query is on the server).
 * @example findBackups("/srv/app/backups", "app", new Date()).newest?.takenAt
 */
export function findBackups(dir: string, database: string, now: Date): BackupListing {
  const none = { dir, database, dirExists: false, count: 0, newest: null, unusable: [] };
  let entries: Dirent[];
  try {
    if (!statSync(dir).isDirectory()) return none;
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return none;
  }
  let count = 0;
  let newest: BackupFile | null = null;
  const unusable: UnusableBackup[] = [];
  for (const e of entries) {
    const takenAt = backupTime(e.name, database);
    if (takenAt === undefined) continue;
    const path = join(dir, e.name);
    const st = entryStats(path, e);
    if (st === undefined) continue;
    // A clock that runs ahead, or a name written by hand: it says nothing about the last backup.
    const why = takenAt > now ? "dated in the future" : emptiness(path, st);
    if (why !== undefined) {
      unusable.push({ name: e.name, takenAt, why });
      continue;
    }
    count++;
    if (newest === null || takenAt > newest.takenAt) newest = { name: e.name, path, takenAt };
  }
  unusable.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  return { dir, database, dirExists: true, count, newest, unusable };
}

/**
 * A dump is a file (custom format) or a directory (directory format); a symlink counts for its
 * target. Undefined for anything else.
 */
function entryStats(path: string, e: Dirent): Stats | undefined {
  if (!e.isFile() && !e.isDirectory() && !e.isSymbolicLink()) return undefined;
  try {
    const st = statSync(path);
    return st.isFile() || st.isDirectory() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** Why a dump holds nothing (an empty file, a directory without pg_dump's toc.dat), or undefined. */
function emptiness(path: string, st: Stats): string | undefined {
  if (st.isFile()) return st.size === 0 ? "0 bytes" : undefined;
  try {
    const toc = statSync(join(path, "toc.dat"));
    return toc.isFile() && toc.size > 0 ? undefined : "a directory whose toc.dat is empty";
  } catch {
    return "a directory without toc.dat";
  }
}
